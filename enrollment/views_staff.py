"""The staff side of the portal: education officers, school staff and data stewards.

Each view checks the role first (anyone else gets 403) and then the object: an officer sees
only their own district's applications and schools, school staff only their own school, and an
object outside that scope is a 404. Every refusal is logged to `enrollment.access`. Views
validate, call one service and render; reads come from enrollment.selectors_staff.
"""

import json
import logging
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enrollment import charts
from enrollment import presentation_staff as presentation
from enrollment import selectors_staff as staff_selectors
from enrollment.errors import ApplicationError
from enrollment.forms_staff import (
    REASON_CODES,
    AllocationCompareForm,
    AllocationStartForm,
    AuditFilterForm,
    EnrolmentForm,
    EvidenceReviewForm,
    FeedUploadForm,
    OverrideForm,
    PublishForm,
    RecheckFilterForm,
    RecheckResolveForm,
    RetryForm,
    ReviewQueueFilterForm,
    WhatIfForm,
)
from enrollment.messages_staff import staff_message
from enrollment.models import (
    AllocationRun,
    Application,
    ApplicationState,
    Consent,
    Decision,
    Recheck,
    Role,
    School,
)
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_runs_compare,
)
from enrollment.services.exports import admitted_export, admitted_rows, download_denied_log
from enrollment.services.offers import offer_mark_enrolment
from enrollment.services.policies import policy_active
from enrollment.services.rechecks import recheck_resolve
from enrollment.services.review import decision_override, evidence_review, verification_retry
from enrollment.services.whatif import policy_what_if
from enrollment.templatetags import portal
from registry.idnumber import mask, mask_in_text
from registry.services.uploads import UploadRefused, feed_upload_create, feed_upload_progress

access_log = logging.getLogger("enrollment.access")

# The registry's department feeds, named as parents and officers know them.
SOURCE_LABELS = dict(Consent.Lookup.choices)

PAGE_SIZE = 50
# The points histogram's band: half a base-points step of the default policy.
POINTS_BAND = 5


def _deny(request, why: str) -> None:
    access_log.warning(
        "access denied: user=%s role=%s path=%s why=%s",
        request.user.pk,
        getattr(request.user, "role", ""),
        request.path,
        why,
    )


def staff_view(*roles: str):
    """Signed-in users of these roles only: others are sent to sign in, or refused with 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.user.role not in roles or not request.user.is_active:
                _deny(request, f"role {request.user.role} not in {','.join(roles)}")
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


officer_view = staff_view(Role.OFFICER)
school_view = staff_view(Role.SCHOOL)
steward_view = staff_view(Role.STEWARD)


def not_found(request, what: str) -> Http404:
    """A 404 for an object outside the user's scope (or absent), logged as a denial."""
    _deny(request, f"{what} not in scope")
    return Http404(what)


def _year(request) -> int:
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        year = 0
    if 2000 <= year <= 2100:
        return year
    return staff_selectors.officer_default_year(user=request.user)


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# --- officers: dashboard -----------------------------------------------------------------


@officer_view
def officer_dashboard(request):
    year = _year(request)
    user = request.user
    states = staff_selectors.district_state_counts(user=user, admission_year=year)
    outcomes = staff_selectors.district_outcome_counts(user=user, admission_year=year)
    points = staff_selectors.district_points_counts(
        user=user, admission_year=year, width=POINTS_BAND
    )
    demand = staff_selectors.district_school_demand(user=user, admission_year=year)
    state_rows = [(label, states[value]) for value, label in ApplicationState.choices]
    context = {
        "year": year,
        "state_rows": state_rows,
        "total": sum(states.values()),
        "work": staff_selectors.district_open_work(user=user, admission_year=year),
        "state_counts_review": states[ApplicationState.NEEDS_REVIEW],
        "decisions_chart": charts.bar_chart(
            title=_("审核结果分布"),
            bars=[(label, outcomes[value]) for value, label in Decision.Outcome.choices],
            label_header=_("结果"),
            value_header=_("人数"),
        ),
        "points_chart": charts.histogram(
            title=_("积分分布（符合条件）"),
            counts=points,
            bin_width=POINTS_BAND,
            range_header=_("积分区间"),
            count_header=_("人数"),
        ),
        "demand_chart": _demand_chart(demand),
    }
    return render(request, "officer/dashboard.html", context)


# A bar chart stays readable up to about this many schools; the tables list every school.
CHART_SCHOOLS = 20


def _chart_title(full: str, top: str, total: int) -> str:
    return full if total <= CHART_SCHOOLS else top % {"n": CHART_SCHOOLS}


def _demand_chart(demand) -> charts.Chart:
    shown = sorted(demand, key=lambda row: (-row.seats_short, row.school.code))[:CHART_SCHOOLS]
    return charts.paired_bar_chart(
        title=_chart_title(
            _("第一志愿人数与学位数"), _("学位缺口最大的 %(n)d 所学校"), len(demand)
        ),
        pairs=[(row.school.name, row.first_choice, row.seats) for row in shown],
        first_name=_("第一志愿"),
        second_name=_("学位数"),
        label_header=_("学校"),
    )


# --- officers: review queue and cases -----------------------------------------------------


@officer_view
def officer_review_queue(request):
    year = _year(request)
    params = request.GET.copy()
    if "state" not in params:
        params["state"] = ApplicationState.NEEDS_REVIEW
    form = ReviewQueueFilterForm(params)
    filters = form.cleaned_data if form.is_valid() else {"state": "", "reason": "", "q": ""}
    applications = staff_selectors.review_queue(
        user=request.user,
        admission_year=year,
        state=filters["state"],
        reason=filters["reason"],
        ref=filters["q"],
    )
    page = _page(request, applications)
    return render(
        request,
        "officer/review_queue.html",
        {
            "year": year,
            "form": form,
            "page": page,
            "query": _query_without_page(request),
            "reason_codes": REASON_CODES,
        },
    )


def _record_refs(value, found: list) -> list:
    """Every registry record reference (source, key, batch_id, as_of) inside a JSON value."""
    if isinstance(value, dict):
        if {"source", "key", "batch_id", "as_of"} <= value.keys():
            ref = {
                "source": value["source"],
                "label": SOURCE_LABELS.get(value["source"], value["source"]),
                "key": mask_in_text(str(value["key"])),
                "batch_id": value["batch_id"],
                "as_of": value["as_of"],
            }
            if ref not in found:
                found.append(ref)
        else:
            for item in value.values():
                _record_refs(item, found)
    elif isinstance(value, list):
        for item in value:
            _record_refs(item, found)
    return found


def _trace_rows(decision) -> list[dict]:
    """Each step of the trace in the words of the parent's points breakdown, with its records."""
    document = decision.policy.document if decision else {}
    return [
        {
            **presentation.trace_step(step, document),
            "sources": _record_refs(step.get("source"), []),
        }
        for step in (decision.trace if decision else [])
    ]


def _case_context(request, application, **forms) -> dict:
    decision = application.current_decisions[0] if application.current_decisions else None
    sources = _record_refs(decision.facts, []) if decision else []
    if decision:
        _record_refs(decision.trace, sources)
    evidence = list(staff_selectors.case_evidence(application=application))
    for item in evidence:
        item.accepted_facts = presentation.accepted_facts(item.accepted_values)
    context = {
        "application": application,
        "decision": decision,
        "registry_facts": _registry_facts(decision),
        "sources": sources,
        "trace": _trace_rows(decision),
        **presentation.decision_labels(decision),
        "evidence": evidence,
        "history": staff_selectors.case_decision_history(application=application),
        "events": _event_rows(application),
        "evidence_forms": {
            item.id: EvidenceReviewForm(initial={"evidence": item.id}, auto_id=f"ev{item.id}_%s")
            for item in evidence
            if item.review == item.Review.PENDING
        },
        "override_form": OverrideForm(
            initial={"decision_id": decision.pk if decision else None}, auto_id="override_%s"
        ),
        "retry_form": RetryForm(auto_id="retry_%s"),
    }
    if "evidence_form" in forms and forms["evidence_form"] is not None:
        form = forms["evidence_form"]
        key = str(form.data.get("evidence", ""))
        if key.isdigit():
            context["evidence_forms"][int(key)] = form
        context["evidence_error_form"] = form
    if forms.get("override_form") is not None:
        context["override_form"] = forms["override_form"]
    if forms.get("retry_form") is not None:
        context["retry_form"] = forms["retry_form"]
    return context


# Who changed a state when no person did: the verification worker, or the application's channel.
ACTOR_LABELS = {"worker": gettext_lazy("核验程序"), **dict(Application.Channel.choices)}


def _event_rows(application) -> list:
    """The state changes, their states, automatic actors and reasons named in the page's
    language (a person's own words as typed)."""
    states = dict(ApplicationState.choices)
    events = list(application.events.all())
    for event in events:
        event.from_label = states.get(event.from_state, event.from_state)
        event.to_label = states.get(event.to_state, event.to_state)
        event.reason_text = presentation.event_reason(event)
        event.actor_name = (
            event.actor.get_username()
            if event.actor
            else ACTOR_LABELS.get(event.actor_label, event.actor_label)
        )
    return events


def _hukou_class(code: str | None) -> str:
    """`本区户籍（D）`: the class in words, with DOMAIN.md's letter officers also know."""
    if not code:
        return _("无记录")
    label = portal.HUKOU_CLASSES.get(code)
    return _("%(label)s（%(code)s）") % {"label": label, "code": code} if label else code


def _registry_facts(decision) -> list[tuple[str, object]]:
    """The facts scoring used, as the registry (and any accepted evidence) established them."""
    facts = ((decision.facts or {}).get("facts") or {}) if decision else {}
    if not facts:
        return []
    yes, no = _("是"), _("否")
    return [
        (_("户籍类别"), _hukou_class(facts.get("hukou_class"))),
        (_("户籍登记日期"), facts.get("hukou_registered_on") or "—"),
        (_("家庭在居住社区的产权占比（%）"), facts.get("owned_share_percent", "0")),
        (_("居住社区有租赁备案"), yes if facts.get("has_rental") else no),
        (_("在本市其他社区有房产"), yes if facts.get("owns_elsewhere") else no),
        (_("社保缴费月数"), facts.get("si_months", 0)),
        (_("居住证符合条件"), yes if facts.get("permit_qualifies") else no),
        (_("已采纳住房证明材料"), yes if facts.get("housing_evidence_accepted") else no),
    ]


def _officer_case_or_404(request, ref: str):
    application = staff_selectors.officer_case(user=request.user, ref=ref)
    if application is None:
        raise not_found(request, f"application {ref}")
    return application


@officer_view
def officer_case(request, ref: str):
    application = _officer_case_or_404(request, ref)
    return render(request, "officer/case.html", _case_context(request, application))


@officer_view
@require_POST
def officer_case_evidence(request, ref: str):
    """Accept or reject one piece of evidence, with a reason."""
    application = _officer_case_or_404(request, ref)
    # Each piece of evidence has its own form on the page; ids follow the evidence.
    key = request.POST.get("evidence", "")
    form = EvidenceReviewForm(request.POST, auto_id=f"ev{key if key.isdigit() else 0}_%s")
    if form.is_valid():
        evidence = staff_selectors.officer_evidence(
            user=request.user, evidence_id=form.cleaned_data["evidence"]
        )
        if evidence is None or evidence.application_id != application.id:
            raise not_found(request, f"evidence {form.cleaned_data['evidence']}")
        try:
            evidence_review(
                officer=request.user,
                evidence=evidence,
                accept=form.cleaned_data["verdict"] == EvidenceReviewForm.ACCEPT,
                reason=form.cleaned_data["reason"],
                values=form.accepted_values(),
            )
        except ApplicationError as error:
            form.add_error(None, staff_message(error))
        else:
            messages.success(request, _("已保存审核结论。"))
            return redirect("staff:officer-case", ref=application.ref)
    return render(
        request,
        "officer/case.html",
        _case_context(request, application, evidence_form=form),
        status=400,
    )


@officer_view
@require_POST
def officer_case_override(request, ref: str):
    """Change the outcome of the current decision by hand, with a reason."""
    application = _officer_case_or_404(request, ref)
    form = OverrideForm(request.POST, auto_id="override_%s")
    if form.is_valid():
        try:
            decision_override(
                officer=request.user,
                application=application,
                outcome=form.cleaned_data["outcome"],
                reason=form.cleaned_data["reason"],
                expected_decision_id=form.cleaned_data["decision_id"],
            )
        except ApplicationError as error:
            form.add_error(None, staff_message(error))
        else:
            messages.success(request, _("已改判。"))
            return redirect("staff:officer-case", ref=application.ref)
    return render(
        request,
        "officer/case.html",
        _case_context(request, application, override_form=form),
        status=400,
    )


@officer_view
@require_POST
def officer_case_retry(request, ref: str):
    """Ask the registry again, with a reason."""
    application = _officer_case_or_404(request, ref)
    form = RetryForm(request.POST, auto_id="retry_%s")
    if form.is_valid():
        try:
            verification_retry(
                officer=request.user, application=application, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as error:
            form.add_error(None, staff_message(error))
        else:
            messages.success(request, _("已重新提交核验。"))
            return redirect("staff:officer-case", ref=application.ref)
    return render(
        request,
        "officer/case.html",
        _case_context(request, application, retry_form=form),
        status=400,
    )


@officer_view
@require_http_methods(["GET"])
def officer_evidence_file(request, evidence_id: int):
    evidence = staff_selectors.officer_evidence(user=request.user, evidence_id=evidence_id)
    if evidence is None or not evidence.file:
        raise not_found(request, f"evidence {evidence_id}")
    return FileResponse(
        evidence.file.open("rb"),
        content_type=evidence.content_type or "application/octet-stream",
        as_attachment=True,
        filename=evidence.file.name.rsplit("/", 1)[-1],
    )


# --- officers: policy what-if ---------------------------------------------------------------


@officer_view
@require_http_methods(["GET", "POST"])
def officer_whatif(request):
    """Try a changed policy document on the district's current decisions; nothing is written."""
    year = _year(request)
    try:
        active = policy_active(district_code=request.user.district_code, admission_year=year)
    except ApplicationError:
        active = None
    result = None
    base_rows = active.document.get("base_points", []) if active else []
    if request.method == "POST":
        form = WhatIfForm(request.POST, base_rows=base_rows)
        if form.is_valid():
            try:
                result = policy_what_if(officer=request.user, document=form.policy_document())
            except ApplicationError as error:
                form.add_error("document", staff_message(error))
    else:
        initial = (
            {"document": json.dumps(active.document, ensure_ascii=False, indent=2)}
            if active
            else None
        )
        form = WhatIfForm(initial=initial, base_rows=base_rows)
    context = {"year": year, "form": form, "active": active, "result": result}
    if result is not None:
        context.update(_whatif_charts(result))
    # htmx swaps only successful responses: a refused document is shown in place with 200.
    refused = request.method == "POST" and result is None and not request.htmx
    return render(request, "officer/whatif.html", context, status=400 if refused else 200)


def _signed(points: int) -> str:
    return f"{points:+d}" if points else "0"


def _whatif_charts(result) -> dict:
    deltas = {row["delta"]: row["count"] for row in result.delta_histogram}
    span = range(min(deltas, default=0), max(deltas, default=-1) + 1)
    outcome_labels = dict(Decision.Outcome.choices)
    return {
        "delta_chart": charts.column_chart(
            title=_("总分变化分布"),
            columns=[(_signed(d), deltas.get(d, 0), _signed(d)) for d in span],
            label_header=_("分数变化"),
            value_header=_("人数"),
        ),
        "totals_chart": charts.paired_bar_chart(
            title=_("总分分布：现行与推演"),
            pairs=[
                (f"{row['from']}–{row['to']}", row["before"], row["after"])
                for row in result.total_histogram
            ],
            first_name=_("现行"),
            second_name=_("推演"),
            label_header=_("积分区间"),
        ),
        "schools_chart": charts.paired_bar_chart(
            title=_chart_title(
                _("推演后第一志愿人数与学位数"),
                _("推演后学位缺口最大的 %(n)d 所学校"),
                len(result.schools),
            ),
            pairs=[
                (s.name, s.first_choice_after, s.capacity)
                for s in sorted(
                    result.schools, key=lambda s: (s.capacity - s.first_choice_after, s.code)
                )[:CHART_SCHOOLS]
            ],
            first_name=_("第一志愿（推演）"),
            second_name=_("学位数"),
            label_header=_("学校"),
        ),
        "transition_rows": [
            (
                outcome_labels.get(name_from, name_from),
                [result.transitions[name_from][name_to] for name_to in result.transitions],
            )
            for name_from in result.transitions
        ],
        "transition_headers": [outcome_labels.get(name, name) for name in result.transitions],
    }


# --- officers: allocation runs -------------------------------------------------------------


def _officer_run_or_404(request, run_id: int):
    run = staff_selectors.officer_run(user=request.user, run_id=run_id)
    if run is None:
        raise not_found(request, f"allocation run {run_id}")
    return run


@officer_view
@require_http_methods(["GET", "POST"])
def officer_allocation(request):
    """The district's allocation runs of the year, and a form to start one."""
    year = _year(request)
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
    runs = staff_selectors.district_runs(user=request.user, admission_year=year)
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
    names = dict(
        School.objects.filter(
            admission_year=run.admission_year,
            district_code=user.district_code,
            code__in=list(run.counts or {}),
        ).values_list("code", "name")
    )
    return [
        {
            "code": code,
            "name": names[code],
            "capacity": counts.get("capacity", 0),
            "placed": counts.get("placed", 0),
            "in_catchment": counts.get("in_catchment", 0),
        }
        for code, counts in sorted((run.counts or {}).items())
        if code in names
    ]


def _run_is_moving(run) -> bool:
    return run.status in (AllocationRun.Status.PENDING, AllocationRun.Status.RUNNING)


# The allocation service records its progress in English words; officers read these.
PROGRESS_NOTES = {
    "queued": gettext_lazy("排队等待计算"),
    "reading applications": gettext_lazy("正在读取申请"),
    "allocating": gettext_lazy("正在分配学位"),
    "writing placements": gettext_lazy("正在保存录取结果"),
    "done": gettext_lazy("计算完成"),
}


def _progress_context(run) -> dict:
    """What the progress fragment shows: a note it does not know is left out, not shown in
    English."""
    return {
        "run": run,
        "moving": _run_is_moving(run),
        "progress_note": PROGRESS_NOTES.get(run.progress_note, ""),
    }


@officer_view
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
            title=_chart_title(_("各校录取人数与学位数"), _("录取最满的 %(n)d 所学校"), len(rows)),
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


@officer_view
def officer_run_progress(request, run_id: int):
    """The progress fragment that htmx polls while a run is queued or computing."""
    run = _officer_run_or_404(request, run_id)
    response = render(request, "officer/_run_progress.html", _progress_context(run))
    if request.htmx and not _run_is_moving(run):
        # The run ended: reload the page so that its results and the publish form appear.
        response["HX-Refresh"] = "true"
    return response


@officer_view
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


@officer_view
def officer_runs_compare(request):
    form = AllocationCompareForm(request.GET)
    changes, first, second = None, None, None
    if form.is_valid():
        first = _officer_run_or_404(request, form.cleaned_data["a"])
        second = _officer_run_or_404(request, form.cleaned_data["b"])
        try:
            changes = allocation_runs_compare(first=first, second=second)
        except ApplicationError as error:
            form.add_error(None, staff_message(error))
        else:
            # City-wide runs place other districts' applicants too: show only this district's.
            own = staff_selectors.district_refs(
                user=request.user, refs=[change.ref for change in changes]
            )
            changes = [change for change in changes if change.ref in own]
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


# --- officers: re-checks (复核) --------------------------------------------------------------


@officer_view
def officer_rechecks(request):
    params = request.GET.copy()
    if "status" not in params:
        params["status"] = Recheck.Status.OPEN
    form = RecheckFilterForm(params)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    page = _page(request, staff_selectors.district_rechecks(user=request.user, status=status))
    return render(
        request,
        "officer/rechecks.html",
        {"form": form, "page": page, "query": _query_without_page(request)},
    )


@officer_view
@require_http_methods(["GET", "POST"])
def officer_recheck(request, recheck_id: int):
    recheck = staff_selectors.officer_recheck(user=request.user, recheck_id=recheck_id)
    if recheck is None:
        raise not_found(request, f"recheck {recheck_id}")
    status = 200
    if request.method == "POST":
        form = RecheckResolveForm(request.POST)
        if form.is_valid():
            try:
                recheck_resolve(
                    recheck=recheck,
                    officer=request.user,
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
    application = staff_selectors.officer_case(user=request.user, ref=recheck.application.ref)
    decision = application.current_decisions[0] if application.current_decisions else None
    return render(
        request,
        "officer/recheck.html",
        {"recheck": recheck, "application": application, "decision": decision, "form": form},
        status=status,
    )


# --- officers: schools, demand and the education map ---------------------------------------


@officer_view
def officer_schools(request):
    year = _year(request)
    demand = staff_selectors.district_school_demand(user=request.user, admission_year=year)
    return render(
        request,
        "officer/schools.html",
        {
            "year": year,
            "demand": demand,
            "demand_chart": _demand_chart(demand),
            "map_chart": charts.school_map(
                title=_("教育地图：各校学位缺口"),
                schools=[
                    (row.school.name, row.school.lat, row.school.lon, row.seats_short)
                    for row in demand
                ],
                name_header=_("学校"),
                short_header=_("学位缺口"),
                legend=(
                    _("学位充足"),
                    _("缺口不到最大缺口的四分之一"),
                    _("四分之一至一半"),
                    _("一半至四分之三"),
                    _("四分之三以上"),
                ),
            ),
        },
    )


# --- school staff --------------------------------------------------------------------------


def _staff_school_or_404(request):
    year = None
    try:
        year = int(request.GET.get("year", "")) or None
    except ValueError:
        year = None
    school = staff_selectors.staff_school(user=request.user, admission_year=year)
    if school is None:
        raise not_found(request, f"school {request.user.school_code}")
    return school


@school_view
def school_admitted(request):
    """The school's admitted children, with the 报到 marks, and the downloads."""
    school = _staff_school_or_404(request)
    offers = staff_selectors.school_live_offers(school=school)
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
        _deny(request, f"role {user.role} may not download admitted lists")
        download_denied_log(
            user=user,
            school_code=user.school_code or "-",
            admission_year=staff_selectors.officer_default_year(user=user),
            fmt=fmt,
        )
        raise PermissionDenied
    school = _staff_school_or_404(request)
    content, _rows = admitted_export(school=school, fmt=fmt, user=user, channel="portal")
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


@school_view
@require_POST
def school_enrolment(request):
    school = _staff_school_or_404(request)
    form = EnrolmentForm(request.POST)
    if form.is_valid():
        try:
            offer_mark_enrolment(
                school=school,
                staff=request.user,
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


# --- data stewards -------------------------------------------------------------------------


@steward_view
def steward_imports(request):
    page = _page(request, staff_selectors.import_batches())
    for batch in page.object_list:
        batch.source_label = SOURCE_LABELS.get(batch.source, batch.source)
    latest = staff_selectors.latest_batch_per_source()
    quality = charts.paired_bar_chart(
        title=_("各数据源最近一次导入：读取与拒收行数"),
        pairs=[
            (SOURCE_LABELS.get(batch.source, batch.source), batch.rows_read, batch.rows_rejected)
            for batch in latest
        ],
        first_name=_("读取"),
        second_name=_("拒收"),
        label_header=_("数据源"),
    )
    return render(
        request, "steward/imports.html", {"page": page, "query": "", "quality_chart": quality}
    )


@steward_view
def steward_import_detail(request, batch_id: int):
    batch = staff_selectors.import_batches().filter(pk=batch_id).first()
    if batch is None:
        raise not_found(request, f"import batch {batch_id}")
    batch.source_label = SOURCE_LABELS.get(batch.source, batch.source)
    rejections = [
        {"line": item.get("line", ""), "message": presentation.rejection_message(item)}
        for item in batch.rejections or []
    ]
    return render(request, "steward/import_detail.html", {"batch": batch, "rejections": rejections})


@steward_view
@require_http_methods(["GET", "POST"])
def steward_upload(request):
    """Hand in a department file; a worker loads it and the next page follows the load."""
    form = FeedUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            upload = feed_upload_create(
                source=data["source"],
                file=data["file"],
                encoding=data["encoding"],
                as_of=data["as_of"],
                submitted_by=request.user.username,
            )
        except UploadRefused as refused:
            form.add_error(refused.field, str(refused))
        else:
            return redirect("staff:steward-upload", upload_id=upload.pk)
    status = 400 if form.is_bound else 200
    uploads = staff_selectors.feed_uploads()[:10]
    for upload in uploads:
        upload.source_label = SOURCE_LABELS.get(upload.source, upload.source)
    return render(request, "steward/upload.html", {"form": form, "uploads": uploads}, status=status)


def _upload_or_404(request, upload_id: int):
    upload = staff_selectors.feed_uploads().filter(pk=upload_id).first()
    if upload is None:
        raise not_found(request, f"feed upload {upload_id}")
    upload.source_label = SOURCE_LABELS.get(upload.source, upload.source)
    return upload


def _upload_context(upload) -> dict:
    progress = feed_upload_progress(upload)
    failed = upload.status == upload.Status.FAILED
    return {
        "upload": upload,
        "progress": progress,
        "moving": progress.phase in ("queued", "reading", "indexing", "working"),
        "failure": presentation.upload_failure_message(upload) if failed else "",
    }


@steward_view
@require_GET
def steward_upload_detail(request, upload_id: int):
    upload = _upload_or_404(request, upload_id)
    return render(request, "steward/upload_detail.html", _upload_context(upload))


@steward_view
@require_GET
def steward_upload_progress(request, upload_id: int):
    """The progress fragment that htmx polls while the file is queued or loading."""
    upload = _upload_or_404(request, upload_id)
    context = _upload_context(upload)
    response = render(request, "steward/_upload_progress.html", context)
    if request.htmx and not context["moving"]:
        # The load ended: reload the page so that its batch and counts appear.
        response["HX-Refresh"] = "true"
    return response


@steward_view
def steward_audit(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = staff_selectors.audit_entries(
        client=filters.get("client", ""),
        purpose=filters.get("purpose", ""),
        outcome=filters.get("outcome", ""),
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )
    if form.is_bound and not form.is_valid():
        entries = entries.none()
    page = _page(request, entries)
    subjects = staff_selectors.audit_subject_counts(entry_ids=[e.id for e in page.object_list])
    rows = [
        {
            "id": entry.id,
            "at": entry.at,
            "client_id": entry.client_id,
            "end_user": mask_in_text(entry.end_user),
            "purpose": mask_in_text(portal.purpose_label(entry.purpose)),
            "consent_reference": mask_in_text(entry.consent_reference),
            "outcome": entry.outcome,
            "refusal_reason": portal.audit_refusal_label(entry.refusal_reason),
            "subject_count": subjects.get(entry.id, 0),
        }
        for entry in page.object_list
    ]
    return render(
        request,
        "steward/audit.html",
        {"form": form, "page": page, "rows": rows, "query": _query_without_page(request)},
    )


def staff_home(request):
    """Sends each staff role to its own start page."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    targets = {
        Role.OFFICER: "staff:officer-dashboard",
        Role.SCHOOL: "staff:school-admitted",
        Role.STEWARD: "staff:steward-imports",
    }
    if request.user.role not in targets:
        _deny(request, f"role {request.user.role} has no staff pages")
        raise PermissionDenied
    return redirect(reverse(targets[request.user.role]))
