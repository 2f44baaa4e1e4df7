"""The review queue and an officer's case page: evidence, an officer's findings, deciding a case
not eligible, and verifying again."""

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from enrollment.access import not_found, officer_required
from enrollment.errors import ApplicationError
from enrollment.models import (
    Application,
    ApplicationState,
)
from enrollment.portal.staff.messages import staff_message
from enrollment.portal.staff.officer.forms import (
    PENDING_EVIDENCE,
    REASON_CODES,
    EvidenceReviewForm,
    FindingForm,
    OverrideForm,
    RetryForm,
    ReviewQueueFilterForm,
)
from enrollment.portal.staff.officer.presentation import (
    accepted_facts,
    decision_labels,
    event_reason,
    evidence_review_label,
    guardian_relations,
    trace_step,
)
from enrollment.portal.staff.pages import SOURCE_LABELS, page_year, paginate, query_without_page
from enrollment.portal.vocabulary import HUKOU_CLASSES
from enrollment.selectors.applications import (
    application_get,
    application_review_list,
    case_decision_history,
    case_evidence,
    evidence_get,
)
from enrollment.selectors.communities import community_get
from enrollment.selectors.notifications import case_deliveries
from enrollment.services.findings import decision_override, finding_accept
from enrollment.services.review import evidence_review, verification_retry
from registry.idnumber import mask_in_text

# Who changed a state when no person did: the verification worker, or the application's channel.
ACTOR_LABELS = {"worker": gettext_lazy("核验程序"), **dict(Application.Channel.choices)}


@officer_required
def officer_review_queue(request):
    year = page_year(request)
    params = request.GET.copy()
    if "state" not in params:
        params["state"] = ApplicationState.NEEDS_REVIEW
    form = ReviewQueueFilterForm(params)
    filters = (
        form.cleaned_data
        if form.is_valid()
        else {"state": "", "reason": "", "q": "", "evidence": ""}
    )
    applications = application_review_list(
        user=request.user,
        admission_year=year,
        state=filters["state"],
        reason=filters["reason"],
        ref=filters["q"],
        pending_evidence=filters["evidence"] == PENDING_EVIDENCE,
    )
    page = paginate(request, applications)
    return render(
        request,
        "officer/review_queue.html",
        {
            "year": year,
            "form": form,
            "page": page,
            "query": query_without_page(request),
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
            **trace_step(step, document),
            "sources": _record_refs(step.get("source"), []),
        }
        for step in (decision.trace if decision else [])
    ]


def _case_context(request, application, **forms) -> dict:
    decision = application.current_decisions[0] if application.current_decisions else None
    sources = _record_refs(decision.facts, []) if decision else []
    if decision:
        _record_refs(decision.trace, sources)
    evidence = list(case_evidence(application=application))
    for item in evidence:
        item.accepted_facts = accepted_facts(item.accepted_values)
    context = {
        "application": application,
        "community": community_get(code=application.home_community_code),
        "decision": decision,
        "registry_facts": _registry_facts(decision),
        "sources": sources,
        "trace": _trace_rows(decision),
        **decision_labels(decision),
        "evidence": evidence,
        "history": case_decision_history(application=application),
        "events": _history_rows(application, evidence),
        "guardians": guardian_relations(application, decision),
        "evidence_forms": {
            item.id: EvidenceReviewForm(
                initial={"evidence": item.id},
                auto_id=f"ev{item.id}_%s",
                guardians=application.guardians.all(),
            )
            for item in evidence
            if item.review == item.Review.PENDING
        },
        "finding_form": FindingForm(
            initial={"decision_id": decision.pk if decision else None},
            auto_id="finding_%s",
            guardians=application.guardians.all(),
        ),
        "override_form": OverrideForm(
            initial={"decision_id": decision.pk if decision else None}, auto_id="override_%s"
        ),
        "retry_form": RetryForm(auto_id="retry_%s"),
        "deliveries": case_deliveries(application=application),
    }
    if "evidence_form" in forms and forms["evidence_form"] is not None:
        form = forms["evidence_form"]
        key = str(form.data.get("evidence", ""))
        if key.isdigit():
            context["evidence_forms"][int(key)] = form
        context["evidence_error_form"] = form
    if forms.get("finding_form") is not None:
        context["finding_form"] = forms["finding_form"]
    if forms.get("override_form") is not None:
        context["override_form"] = forms["override_form"]
    if forms.get("retry_form") is not None:
        context["retry_form"] = forms["retry_form"]
    return context


def _history_rows(application, evidence) -> list[dict]:
    """The case's history, oldest first: the state changes, and every review of the family's
    evidence or finding of an officer's. A review leaves the state as it was when the case is
    decided already, so without its own row it would not show here at all. Automatic actors
    and reasons are named in the page's language (a person's own words as typed)."""
    states = dict(ApplicationState.choices)
    rows = []
    for event in application.events.all():
        rows.append(
            {
                "at": event.at,
                "change": "{} → {}".format(
                    states.get(event.from_state, event.from_state) or "—",
                    states.get(event.to_state, event.to_state),
                ),
                "actor": event.actor.get_username()
                if event.actor
                else ACTOR_LABELS.get(event.actor_label, event.actor_label),
                "reason": event_reason(event),
            }
        )
    for item in evidence:
        if item.review == item.Review.PENDING or item.reviewed_at is None:
            continue
        rows.append(
            {
                "at": item.reviewed_at,
                "change": evidence_review_label(item),
                "actor": item.reviewed_by.get_username() if item.reviewed_by else "",
                "reason": item.review_reason,
            }
        )
    # Stable: an event and the review that caused it keep the order they were written in.
    return sorted(rows, key=lambda row: row["at"])


def _hukou_class(code: str | None) -> str:
    """`本区户籍（D）`: the class in words, with DOMAIN.md's letter officers also know."""
    if not code:
        return _("无记录")
    label = HUKOU_CLASSES.get(code)
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
        (_("监护关系已核实"), no if facts.get("guardianship_verified") is False else yes),
        (_("家庭在居住社区的产权占比（%）"), facts.get("owned_share_percent", "0")),
        (_("居住社区有租赁备案"), yes if facts.get("has_rental") else no),
        (_("在本市其他社区有房产"), yes if facts.get("owns_elsewhere") else no),
        (_("社保缴费月数"), facts.get("si_months", 0)),
        (_("居住证符合条件"), yes if facts.get("permit_qualifies") else no),
        (_("已采纳住房证明材料"), yes if facts.get("housing_evidence_accepted") else no),
    ]


def _officer_case_or_404(request, ref: str):
    application = application_get(user=request.user, ref=ref)
    if application is None:
        raise not_found(request, f"application {ref}")
    return application


@officer_required
def officer_case(request, ref: str):
    application = _officer_case_or_404(request, ref)
    return render(request, "officer/case.html", _case_context(request, application))


@officer_required
@require_POST
def officer_case_evidence(request, ref: str):
    """Accept or reject one piece of evidence, with a reason."""
    application = _officer_case_or_404(request, ref)
    # Each piece of evidence has its own form on the page; ids follow the evidence.
    key = request.POST.get("evidence", "")
    form = EvidenceReviewForm(
        request.POST,
        auto_id=f"ev{key if key.isdigit() else 0}_%s",
        guardians=application.guardians.all(),
    )
    if form.is_valid():
        evidence = evidence_get(user=request.user, evidence_id=form.cleaned_data["evidence"])
        if evidence is None or evidence.application_id != application.id:
            raise not_found(request, f"evidence {form.cleaned_data['evidence']}")
        try:
            evidence_review(
                actor=request.user,
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


@officer_required
@require_POST
def officer_case_finding(request, ref: str):
    """Accept a fact on the officer's own finding, with a reason; the case is scored again."""
    application = _officer_case_or_404(request, ref)
    form = FindingForm(request.POST, auto_id="finding_%s", guardians=application.guardians.all())
    if form.is_valid():
        try:
            finding_accept(
                actor=request.user,
                application=application,
                fact=form.cleaned_data["fact"],
                reason=form.cleaned_data["reason"],
                values=form.accepted_values(),
                expected_decision_id=form.cleaned_data["decision_id"],
            )
        except ApplicationError as error:
            form.add_error(None, staff_message(error))
        else:
            messages.success(request, _("已认定事实并重新计分。"))
            return redirect("staff:officer-case", ref=application.ref)
    return render(
        request,
        "officer/case.html",
        _case_context(request, application, finding_form=form),
        status=400,
    )


@officer_required
@require_POST
def officer_case_override(request, ref: str):
    """Decide the case not eligible by hand, with a reason."""
    application = _officer_case_or_404(request, ref)
    form = OverrideForm(request.POST, auto_id="override_%s")
    if form.is_valid():
        try:
            decision_override(
                actor=request.user,
                application=application,
                outcome=form.cleaned_data["outcome"],
                reason=form.cleaned_data["reason"],
                expected_decision_id=form.cleaned_data["decision_id"],
            )
        except ApplicationError as error:
            form.add_error(None, staff_message(error))
        else:
            messages.success(request, _("已判定为不符合条件。"))
            return redirect("staff:officer-case", ref=application.ref)
    return render(
        request,
        "officer/case.html",
        _case_context(request, application, override_form=form),
        status=400,
    )


@officer_required
@require_POST
def officer_case_retry(request, ref: str):
    """Ask the registry again, with a reason."""
    application = _officer_case_or_404(request, ref)
    form = RetryForm(request.POST, auto_id="retry_%s")
    if form.is_valid():
        try:
            verification_retry(
                actor=request.user, application=application, reason=form.cleaned_data["reason"]
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


@officer_required
@require_http_methods(["GET"])
def officer_evidence_file(request, evidence_id: int):
    evidence = evidence_get(user=request.user, evidence_id=evidence_id)
    if evidence is None or not evidence.file:
        raise not_found(request, f"evidence {evidence_id}")
    return FileResponse(
        evidence.file.open("rb"),
        content_type=evidence.content_type or "application/octet-stream",
        as_attachment=True,
        filename=evidence.file.name.rsplit("/", 1)[-1],
    )
