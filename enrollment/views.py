from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from enrollment.selectors import applications_visible_to, current_decision_prefetch


@login_required
def home(request):
    applications = (
        applications_visible_to(user=request.user)
        .prefetch_related(current_decision_prefetch())
        .order_by("-submitted_at")[:50]
    )
    return render(request, "enrollment/home.html", {"applications": applications})
