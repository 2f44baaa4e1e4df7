"""Allocation runs (start, follow, compare, publish) and the re-checks families ask for."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from enrollment.access import not_found, officer_required
from enrollment.errors import ApplicationError
from enrollment.models import (
    AllocationRun,
    Recheck,
)
from enrollment.portal import charts
from enrollment.portal.staff.messages import staff_message
from enrollment.portal.staff.officer.dashboard import CHART_SCHOOLS, chart_title
from enrollment.portal.staff.officer.forms import (
    AllocationCompareForm,
    AllocationStartForm,
    PublishForm,
    RecheckFilterForm,
    RecheckResolveForm,
)
from enrollment.portal.staff.pages import page_year, paginate, query_without_page
from enrollment.selectors.allocation import (
    allocation_run_get,
    allocation_run_list,
    allocation_run_outcome,
)
from enrollment.selectors.applications import application_get
from enrollment.selectors.rechecks import recheck_get, recheck_list
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_runs_compare,
)
from enrollment.services.rechecks import recheck_resolve

# The allocation service records its progress in English words; officers read these.
PROGRESS_NOTES = {
    "queued": gettext_lazy("排队等待计算"),
    "reading applications": gettext_lazy("正在读取申请"),
    "allocating": gettext_lazy("正在分配学位"),
    "writing placements": gettext_lazy("正在保存录取结果"),
    "done": gettext_lazy("计算完成"),
}


def _officer_run_or_404(request, run_id: int):
    run = allocation_run_get(user=request.user, run_id=run_id)
    if run is None:
        raise not_found(request, f"allocation run {run_id}")
    return run


@officer_required
@require_http_methods(["GET", "POST"])
def officer_allocation(request):
    """The district's allocation runs of the year, and a form to start one."""
    year = page_year(request)
    if request.method == "POST":
        form = AllocationStartForm(request.POST)
        if form.is_valid():
            try:
                run = allocation_run_create(
                    admission_year=year,
                    seed=form.cleaned_data["seed"],
                    actor=request.user,
                    district_code=request.user.district_code,
                    dry_run=form.cleaned_data["dry_run"],
                )
            except ApplicationError as error:
                form.add_error(None, staff_message(error))
            else:
                return redirect("staff:officer-run", run_id=run.pk)
    else:
        form = AllocationStartForm()
    runs = allocation_run_list(user=request.user, admission_year=year)
    done = [run for run in runs if run.status == AllocationRun.Status.DONE]
    return render(
        request,
        "officer/allocation.html",
        {
            "year": year,
            "form": form,
            "runs": runs,
            "compare_form": AllocationCompareForm(
                initial={"a": done[1].pk, "b": done[0].pk} if len(done) > 1 else None
            ),
            "done_runs": done,
        },
        status=400 if form.errors else 200,
    )


def _run_school_rows(run, user) -> list[dict]:
    """The run's counts for the officer's own district's schools only (a city-wide run has
    every district's)."""
    return allocation_run_outcome(user=user, run=run).school_rows


def _run_is_moving(run) -> bool:
    return run.status in (AllocationRun.Status.PENDING, AllocationRun.Status.RUNNING)


def _progress_context(run) -> dict:
    """What the progress fragment shows: a note it does not know is left out, not shown in
    English."""
    return {
        "run": run,
        "moving": _run_is_moving(run),
        "progress_note": PROGRESS_NOTES.get(run.progress_note, ""),
    }


@officer_required
def officer_run(request, run_id: int):
    run = _officer_run_or_404(request, run_id)
    return render(request, "officer/run.html", _run_context(run, PublishForm(), request.user))


def _run_context(run, publish_form, user) -> dict:
    rows = _run_school_rows(run, user)
    return {
        **_progress_context(run),
        "citywide": not run.district_code,
        "district_placed": sum(row["placed"] for row in rows),
        "rows": rows,
        "placed_chart": charts.paired_bar_chart(
            title=chart_title(_("各校录取人数与学位数"), _("录取最满的 %(n)d 所学校"), len(rows)),
            pairs=[
                (row["name"], row["placed"], row["capacity"])
                for row in sorted(rows, key=lambda r: (r["capacity"] - r["placed"], r["code"]))[
                    :CHART_SCHOOLS
                ]
            ],
            first_name=_("录取"),
            second_name=_("学位数"),
            label_header=_("学校"),
        ),
        "publish_form": publish_form,
        "can_publish": bool(publish_form.errors)
        or (
            run.status == AllocationRun.Status.DONE
            and not run.is_dry_run
            and run.published_at is None
            # A city-wide run is published from the command line, not by one district.
            and run.district_code == user.district_code
        ),
    }


@officer_required
def officer_run_progress(request, run_id: int):
    """The progress fragment that htmx polls while a run is queued or computing."""
    run = _officer_run_or_404(request, run_id)
    response = render(request, "officer/_run_progress.html", _progress_context(run))
    if request.htmx and not _run_is_moving(run):
        # The run ended: reload the page so that its results and the publish form appear.
        response["HX-Refresh"] = "true"
    return response


@officer_required
@require_POST
def officer_run_publish(request, run_id: int):
    run = _officer_run_or_404(request, run_id)
    form = PublishForm(request.POST)
    if form.is_valid():
        try:
            allocation_publish(run=run, actor=request.user, reason=form.cleaned_data["reason"])
        except ApplicationError as error:
            form.add_error(None, staff_message(error))
        else:
            messages.success(request, _("已发布录取结果。"))
            return redirect("staff:officer-run", run_id=run.pk)
    return render(request, "officer/run.html", _run_context(run, form, request.user), status=400)


@officer_required
def officer_runs_compare(request):
    form = AllocationCompareForm(request.GET)
    changes, first, second = None, None, None
    if form.is_valid():
        first = _officer_run_or_404(request, form.cleaned_data["a"])
        second = _officer_run_or_404(request, form.cleaned_data["b"])
        try:
            changes = allocation_runs_compare(first=first, second=second, user=request.user)
        except ApplicationError as error:
            form.add_error(None, staff_message(error))
    rows = []
    if changes is not None:
        a_rows = {row["code"]: row for row in _run_school_rows(first, request.user)}
        b_rows = {row["code"]: row for row in _run_school_rows(second, request.user)}
        for code in sorted(a_rows.keys() | b_rows.keys()):
            a, b = a_rows.get(code, {}), b_rows.get(code, {})
            rows.append(
                {
                    "code": code,
                    "name": (a or b)["name"],
                    "capacity": (a or b)["capacity"],
                    "a": a.get("placed", 0),
                    "b": b.get("placed", 0),
                }
            )
    return render(
        request,
        "officer/compare.html",
        {"form": form, "changes": changes, "first": first, "second": second, "rows": rows},
        status=400 if form.is_bound and form.errors else 200,
    )


@officer_required
def officer_rechecks(request):
    params = request.GET.copy()
    if "status" not in params:
        params["status"] = Recheck.Status.OPEN
    form = RecheckFilterForm(params)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    page = paginate(request, recheck_list(user=request.user, status=status))
    return render(
        request,
        "officer/rechecks.html",
        {"form": form, "page": page, "query": query_without_page(request)},
    )


@officer_required
@require_http_methods(["GET", "POST"])
def officer_recheck(request, recheck_id: int):
    recheck = recheck_get(user=request.user, recheck_id=recheck_id)
    if recheck is None:
        raise not_found(request, f"recheck {recheck_id}")
    status = 200
    if request.method == "POST":
        form = RecheckResolveForm(request.POST)
        if form.is_valid():
            try:
                recheck_resolve(
                    recheck=recheck,
                    actor=request.user,
                    result=form.cleaned_data["result"],
                    reason=form.cleaned_data["reason"],
                    changes=form.changes(),
                )
            except ApplicationError as error:
                form.add_error(None, staff_message(error))
            else:
                messages.success(request, _("已答复复核申请。"))
                return redirect("staff:officer-recheck", recheck_id=recheck.pk)
        status = 400
    else:
        form = RecheckResolveForm()
    application = application_get(user=request.user, ref=recheck.application.ref)
    decision = application.current_decisions[0] if application.current_decisions else None
    return render(
        request,
        "officer/recheck.html",
        {"recheck": recheck, "application": application, "decision": decision, "form": form},
        status=status,
    )
