from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from cases.api.views import AISystemViewSet, CaseViewSet, ImportBatchViewSet
from committees.api.views import ActionViewSet, AgendaItemViewSet, CommitteeViewSet, SessionViewSet
from reidentification.api.views import ReidentificationRequestViewSet
from reviews.api.views import AssignmentViewSet, CampaignCaseViewSet, CampaignViewSet
from vigilance.api.views import VigilanceReportViewSet

router = DefaultRouter()
router.register("ai-systems", AISystemViewSet, basename="ai-system")
router.register("cases", CaseViewSet, basename="case")
router.register("import-batches", ImportBatchViewSet, basename="import-batch")
router.register("committees", CommitteeViewSet, basename="committee")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("campaign-cases", CampaignCaseViewSet, basename="campaign-case")
router.register("assignments", AssignmentViewSet, basename="assignment")
router.register("sessions", SessionViewSet, basename="session")
router.register("agenda-items", AgendaItemViewSet, basename="agenda-item")
router.register("actions", ActionViewSet, basename="action")
router.register("vigilance-reports", VigilanceReportViewSet, basename="vigilance-report")
router.register("reidentification-requests", ReidentificationRequestViewSet, basename="reidentification-request")

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("vigilance-reports/export.csv", VigilanceReportViewSet.as_view({"get": "export"}),
         name="vigilance-report-export"),
    path("", include(router.urls)),
]
