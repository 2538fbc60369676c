from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_safe

from accounts.enums import Role
from committees.selectors import committee_business_list_for_user


@login_required
@require_safe
def home(request):
    """Each role lands on the page of its work: the reviewers on their queue, the data-protection
    officer on the re-identification requests, management on the dashboards, a committee chair or
    secretary on their committee (the list when they sit on several, or none yet), the quality
    team and the administrators on the campaigns."""
    role = request.user.role
    if role in (Role.CLINICIAN, Role.PATIENT_REP):
        return redirect("web:queue")
    if role == Role.DPO:
        return redirect("web:reid_list")
    if role == Role.MANAGEMENT:
        return redirect("reports:index")
    if role in (Role.CHAIR, Role.SECRETARY):
        committees = list(committee_business_list_for_user(request.user).values_list("pk", flat=True)[:2])
        if len(committees) == 1:
            return redirect("web:committee", pk=committees[0])
        return redirect("web:committee_list")
    return redirect("web:campaign_list")
