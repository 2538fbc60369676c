from django.contrib.auth import views as auth_views
from django.urls import path

from .views import campaigns, home, imports, reviews

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("login/",
         auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("reviews/", reviews.queue, name="queue"),
    path("reviews/<int:pk>/", reviews.assignment_detail, name="assignment"),
    path("reviews/<int:pk>/open/", reviews.assignment_open, name="assignment_open"),
    path("reviews/<int:pk>/submit/", reviews.assignment_submit, name="assignment_submit"),
    path("reviews/<int:pk>/draft/", reviews.assignment_save_draft, name="assignment_save_draft"),
    path("reviews/<int:pk>/unblind/", reviews.assignment_unblind, name="assignment_unblind"),
    path("reviews/<int:pk>/classify/", reviews.assignment_classify, name="assignment_classify"),
    path("reviews/<int:pk>/decline/", reviews.assignment_decline, name="assignment_decline"),
    path("campaigns/", campaigns.campaign_list, name="campaign_list"),
    path("campaigns/new/", campaigns.campaign_wizard, name="campaign_wizard"),
    path("campaigns/<int:pk>/", campaigns.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/progress/", campaigns.campaign_progress, name="campaign_progress"),
    path("campaigns/<int:pk>/board/", campaigns.campaign_board, name="campaign_board"),
    path("campaigns/<int:pk>/assignments/<int:assignment_pk>/reassign/", campaigns.assignment_reassign,
         name="assignment_reassign"),
    path("campaigns/<int:pk>/transitions/<slug:name>/", campaigns.campaign_transition,
         name="campaign_transition"),
    path("imports/", imports.import_list, name="import_list"),
    path("imports/<int:pk>/", imports.import_detail, name="import"),
    path("imports/<int:pk>/status/", imports.import_status, name="import_status"),
    path("imports/<int:pk>/errors.csv", imports.import_errors_csv, name="import_errors_csv"),
]
