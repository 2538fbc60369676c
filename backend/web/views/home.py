from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_safe

from accounts.enums import Role
from reviews import selectors


@login_required
@require_safe
def home(request):
    """Reviewers land on their queue, everyone else on the campaigns. A chair is usually also a
    clinician reader: the queue when they have assignments, the campaigns otherwise."""
    user = request.user
    if user.role in (Role.CLINICIAN, Role.PATIENT_REP) or (
        user.role == Role.CHAIR and selectors.assignment_list_for_user(user).filter(reviewer=user).exists()
    ):
        return redirect("web:queue")
    return redirect("web:campaign_list")
