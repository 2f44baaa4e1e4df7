"""School staff: their own school's admitted list, its downloads and the 报到 marks."""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from enrollment.access import access_denied, not_found, school_required
from enrollment.errors import ApplicationError
from enrollment.models import (
    Role,
)
from enrollment.portal.staff.messages import staff_message
from enrollment.portal.staff.school.forms import EnrolmentForm
from enrollment.selectors.dashboard import (
    officer_default_year,
)
from enrollment.selectors.schools import school_live_offers, staff_school_get
from enrollment.services.exports import admitted_export, admitted_rows, download_denied_log
from enrollment.services.offers import offer_mark_enrolment
from registry.idnumber import mask


def _staff_school_or_404(request):
    year = None
    try:
        year = int(request.GET.get("year", "")) or None
    except ValueError:
        year = None
    school = staff_school_get(user=request.user, admission_year=year)
    if school is None:
        raise not_found(request, f"school {request.user.school_code}")
    return school


@school_required
def school_admitted(request):
    """The school's admitted children, with the 报到 marks, and the downloads."""
    school = _staff_school_or_404(request)
    offers = school_live_offers(school=school)
    rows = []
    for _code, ref, child, child_id, guardians, address, points, rank in admitted_rows(
        school=school
    ):
        offer = offers.get(ref)
        rows.append(
            {
                "rank": rank,
                "ref": ref,
                "child_name": child,
                "child_id": mask(child_id),
                "guardians": guardians,
                "address": address,
                "points": points,
                "offer": offer,
                "form": EnrolmentForm(
                    auto_id=False,
                    initial={"ref": ref, "enrolment": offer.enrolment if offer else ""},
                ),
            }
        )
    enrolled = sum(1 for row in rows if row["offer"] and row["offer"].enrolment == "enrolled")
    return render(
        request,
        "school/admitted.html",
        {"school": school, "rows": rows, "enrolled": enrolled},
    )


def school_download(request, fmt: str):
    """The admitted list as CSV or XLSX, through the export service (which logs it). A refused
    attempt is logged as a download denied."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if user.role != Role.SCHOOL or not user.is_active:
        access_denied(request, f"role {user.role} may not download admitted lists")
        download_denied_log(
            actor=user,
            school_code=user.school_code or "-",
            admission_year=officer_default_year(user=user),
            fmt=fmt,
        )
        raise PermissionDenied
    school = _staff_school_or_404(request)
    content, _rows = admitted_export(
        school=school, fmt=fmt, actor=user, channel="portal", for_people=True
    )
    content_type = (
        "text/csv; charset=utf-8"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="{school.code}-{school.admission_year}-admitted.{fmt}"'
    )
    return response


# A download only reads: any other method is refused before it counts as an attempt.
@require_http_methods(["GET"])
def school_download_csv(request):
    return school_download(request, "csv")


@require_http_methods(["GET"])
def school_download_xlsx(request):
    return school_download(request, "xlsx")


@school_required
@require_POST
def school_enrolment(request):
    school = _staff_school_or_404(request)
    form = EnrolmentForm(request.POST)
    if form.is_valid():
        try:
            offer_mark_enrolment(
                school=school,
                actor=request.user,
                ref=form.cleaned_data["ref"],
                enrolment=form.cleaned_data["enrolment"],
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as error:
            messages.error(request, staff_message(error, ref=form.cleaned_data["ref"]))
        else:
            messages.success(request, _("已记录报到情况。"))
    else:
        messages.error(request, _("请选择报到情况。"))
    return redirect(f"{reverse('staff:school-admitted')}?year={school.admission_year}")
