from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from cases.api.views import AISystemViewSet, CaseViewSet, ImportBatchViewSet
from committees.api.views import CommitteeViewSet
from reviews.api.views import AssignmentViewSet, CampaignCaseViewSet, CampaignViewSet

router = DefaultRouter()
router.register("ai-systems", AISystemViewSet, basename="ai-system")
router.register("cases", CaseViewSet, basename="case")
router.register("import-batches", ImportBatchViewSet, basename="import-batch")
router.register("committees", CommitteeViewSet, basename="committee")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("campaign-cases", CampaignCaseViewSet, basename="campaign-case")
router.register("assignments", AssignmentViewSet, basename="assignment")

urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("", include(router.urls)),
]
