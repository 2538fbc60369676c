from django.urls import include, path

from accounts.api.views import LogoutView, TokenObtainView
from cases.api.views import AISystemViewSet, CaseViewSet, ImportBatchViewSet
from committees.api.views import CommitteeViewSet
from common.routers import Router
from reidentification.api.views import ReidentificationRequestViewSet
from reviews.api.views import AssignmentViewSet, CampaignCaseViewSet, CampaignViewSet
from sittings.api.views import ActionViewSet, AgendaItemViewSet, CommitteeQuorumView, SessionViewSet
from transparency.api.views import PublicTextViewSet
from vigilance.api.views import VigilanceReportViewSet

router = Router()
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
router.register("public-texts", PublicTextViewSet, basename="public-text")
router.register("reidentification-requests", ReidentificationRequestViewSet, basename="reidentification-request")

urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="api-token"),
    path("auth/logout/", LogoutView.as_view(), name="api-logout"),
    path("committees/<id:pk>/quorum/", CommitteeQuorumView.as_view(), name="committee-quorum"),
    path("vigilance-reports/export.csv", VigilanceReportViewSet.as_view({"get": "export"}),
         name="vigilance-report-export"),
    path("", include(router.urls)),
]
