"""The parents' portal: register, apply in steps, consent, then watch, explain and act.

Each view checks the role and the object, validates, calls one service and renders. A parent
sees only their own applications: anything else is a 404, and the attempt is logged.
"""

import json
import logging

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from enrollment.access import not_found, parent_required
from enrollment.errors import ApplicationError, ValidationErrors
from enrollment.models import (
    Application,
    ApplicationState,
    Community,
    Evidence,
    Offer,
    School,
)
from enrollment.portal.parents import forms as portal_forms
from enrollment.portal.parents.presentation import (
    consent_lookups,
    fact_rows,
    missing_facts,
    points_lines,
    reason_lines,
    withheld_fact_rows,
)
from enrollment.portal.parents.results import results_context, waitlist_places
from enrollment.portal.vocabulary import relation_choices
from enrollment.selectors.applications import (
    accepted_relations_prefetch,
    applicant_related,
    application_get,
    application_list,
    current_decision_prefetch,
    decision_withheld,
)
from enrollment.selectors.offers import offer_get, offer_list
from enrollment.services.accounts import parent_register
from enrollment.services.applications import ApplicationInput, PersonInput, application_submit
from enrollment.services.offers import ANSWERS, offer_answer
from enrollment.services.rechecks import recheck_request
from enrollment.services.review import evidence_submit
from registry.idnumber import mask

logger = logging.getLogger(__name__)

DRAFT_KEY = "application_draft"
STEPS = ("child", "guardians", "home", "consent")
STEP_TITLES = {
    "child": gettext_lazy("孩子"),
    "guardians": gettext_lazy("监护人"),
    "home": gettext_lazy("住址和志愿"),
    "consent": gettext_lazy("同意核验并提交"),
}
# While the registry is being asked, the status page asks again every two seconds.
POLLING_STATES = {
    ApplicationState.SUBMITTED,
    ApplicationState.VERIFYING,
    ApplicationState.WAITING_REGISTRY,
}


def own_application(request, ref: str) -> Application:
    """The signed-in parent's application with this reference, or a logged 404."""
    application = application_get(user=request.user, ref=ref)
    if application is None:
        raise not_found(request, f"application {ref[:32]}", _("找不到这份申请。"))
    return application


# --- home and accounts ----------------------------------------------------------------------


@login_required
def home(request):
    if not request.user.is_parent:
        # Staff have their own pages (enrollment.portal.staff).
        try:
            return redirect(reverse("staff:home"))
        except NoReverseMatch:
            raise PermissionDenied from None
    applications = list(
        application_list(user=request.user)
        # The guardians and the account: what each row's relation check reads (decision_withheld).
        .select_related("applicant")
        .prefetch_related(current_decision_prefetch(), "guardians", accepted_relations_prefetch())
        .order_by("-submitted_at")[:50]
    )
    offers = {
        offer.application_id: offer
        for offer in offer_list(user=request.user).live().filter(application__in=applications)
    }
    for application in applications:
        decision = (application.current_decisions or [None])[0]
        # An account not related to the child sees its submission, not what it led to.
        application.withheld = (
            applicant_related(application=application, decision=decision) is False
        )
        application.live_offer = None if application.withheld else offers.get(application.id)
    draft = request.session.get(DRAFT_KEY) or {}
    return render(
        request,
        "enrollment/home.html",
        {
            "applications": applications,
            "has_draft": bool(draft),
            "policy": portal_forms.portal_policy(),
        },
    )


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = portal_forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = parent_register(
                phone=form.cleaned_data["phone"],
                password=form.cleaned_data["password"],
                display_name=form.cleaned_data["display_name"],
            )
        except ValidationErrors as refused:
            for error in refused.errors:
                field = error.field if error.field in form.fields else None
                form.add_error(field, portal_forms.signup_message(error))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("注册成功，欢迎使用。"))
            return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


# --- the application form, in steps -------------------------------------------------------


def _draft(request) -> dict:
    return dict(request.session.get(DRAFT_KEY) or {})


def _save_draft(request, draft: dict) -> None:
    request.session[DRAFT_KEY] = draft


def _first_missing_step(draft: dict) -> str:
    for step in STEPS[:-1]:
        if step not in draft:
            return step
    return "consent"


def _step_context(step: str, draft: dict) -> dict:
    reachable = {s for s in STEPS if STEPS.index(s) <= STEPS.index(_first_missing_step(draft))}
    return {
        "step": step,
        "steps": [
            {
                "key": key,
                "title": STEP_TITLES[key],
                "number": number,
                "current": key == step,
                "reachable": key in reachable,
            }
            for number, key in enumerate(STEPS, start=1)
        ],
        "step_number": STEPS.index(step) + 1,
        "step_count": len(STEPS),
    }


def _no_policy(request):
    return render(request, "enrollment/apply_closed.html", status=200)


LIVE_CHECK_FIELDS = ("child_id_number", "guardian1_id_number", "guardian2_id_number")


def _attach_live_checks(form) -> None:
    """ID number fields ask `apply_check` as the parent types (htmx) and show its answer."""
    url = reverse("apply-check")
    for name in LIVE_CHECK_FIELDS:
        if name not in form.fields:
            continue
        field = form.fields[name]
        auto_id = form[name].auto_id
        described = f"{auto_id}-check"
        if field.help_text:
            described = f"{auto_id}_helptext {described}"
        field.widget.attrs.update(
            {
                "hx-post": url,
                "hx-trigger": "input changed delay:500ms, blur",
                "hx-target": f"#{auto_id}-check",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
                "hx-vals": json.dumps({"field": name}),
                "aria-describedby": described,
            }
        )


@parent_required
def apply_start(request):
    return redirect("apply-step", step=_first_missing_step(_draft(request)))


@parent_required
@require_http_methods(["GET", "POST"])
def apply_step(request, step: str):
    if step not in STEPS:
        raise Http404
    if step == "consent":
        return apply_consent(request)
    policy = portal_forms.portal_policy()
    if policy is None:
        return _no_policy(request)
    draft = _draft(request)
    # A later step needs the earlier ones: send the parent back to the first one missing.
    if STEPS.index(step) > STEPS.index(_first_missing_step(draft)):
        return redirect("apply-step", step=_first_missing_step(draft))
    data = request.POST if request.method == "POST" else None
    if step == "child":
        initial = draft.get("child", {})
        form = portal_forms.ChildForm(data, initial=initial, policy=policy)
    elif step == "guardians":
        child_id = draft["child"]["child_id_number"]
        rows = draft.get("guardians", [])
        initial = {}
        for index, row in enumerate(rows[:2], start=1):
            initial.update(
                {
                    f"guardian{index}_name": row["name"],
                    f"guardian{index}_id_number": row["id_number"],
                    f"guardian{index}_relation": row["relation"],
                }
            )
        form = portal_forms.GuardiansForm(data, initial=initial, child_id_number=child_id)
    else:
        home = draft.get("home", {})
        initial = {
            "home_community_code": home.get("home_community_code", ""),
            "home_address": home.get("home_address", ""),
        }
        for rank, code in enumerate(home.get("preferences", []), start=1):
            initial[f"school_{rank}"] = code
        form = portal_forms.HomeForm(data, initial=initial, policy=policy)
    _attach_live_checks(form)
    if request.method == "POST" and form.is_valid():
        if step == "child":
            draft["child"] = {
                "child_name": form.cleaned_data["child_name"],
                "child_id_number": form.cleaned_data["child_id_number"],
            }
        elif step == "guardians":
            draft["guardians"] = form.guardians()
        else:
            draft["home"] = {
                "home_community_code": form.cleaned_data["home_community_code"],
                "home_address": form.cleaned_data["home_address"].strip(),
                "preferences": form.preferences(),
            }
        _save_draft(request, draft)
        return redirect("apply-step", step=STEPS[STEPS.index(step) + 1])
    return render(
        request,
        f"enrollment/apply_{step}.html",
        {**_step_context(step, draft), "form": form, "policy": policy},
    )


def _draft_summary(draft: dict, policy) -> dict:
    home = draft["home"]
    community = Community.objects.filter(code=home["home_community_code"]).first()
    schools = {
        s.code: s
        for s in School.objects.filter(
            code__in=home["preferences"], admission_year=policy.admission_year
        )
    }
    return {
        "child_name": draft["child"]["child_name"],
        "child_id_masked": mask(draft["child"]["child_id_number"]),
        "guardians": [
            {
                "name": g["name"],
                "id_masked": mask(g["id_number"]),
                "relation": dict(relation_choices()).get(g["relation"], ""),
            }
            for g in draft["guardians"]
        ],
        "community": community,
        "home_address": home["home_address"],
        "schools": [schools[c] for c in home["preferences"] if c in schools],
    }


def apply_consent(request):
    policy = portal_forms.portal_policy()
    if policy is None:
        return _no_policy(request)
    draft = _draft(request)
    if _first_missing_step(draft) != "consent":
        return redirect("apply-step", step=_first_missing_step(draft))
    form = portal_forms.ConsentForm(
        request.POST if request.method == "POST" else None, guardians=draft["guardians"]
    )
    problems: list[dict] = []
    if request.method == "POST" and form.is_valid():
        child = draft["child"]
        home = draft["home"]
        try:
            application = application_submit(
                data=ApplicationInput(
                    admission_year=policy.admission_year,
                    child=PersonInput(name=child["child_name"], id_number=child["child_id_number"]),
                    guardians=[PersonInput(**g) for g in draft["guardians"]],
                    home_community_code=home["home_community_code"],
                    home_address=home["home_address"],
                    preferences=home["preferences"],
                    consent_given_by=form.given_by_id_number(),
                ),
                actor=request.user,
            )
        except ValidationErrors as refused:
            seen = set()
            for error in refused.errors:
                message = portal_forms.friendly_message(error, policy=policy)
                if message in seen:
                    continue
                seen.add(message)
                step = portal_forms.step_of_field(error.field)
                problems.append({"message": message, "step": step, "step_title": STEP_TITLES[step]})
        else:
            request.session.pop(DRAFT_KEY, None)
            messages.success(request, _("申请已提交，系统正在核验。"))
            return redirect("application-detail", ref=application.ref)
    return render(
        request,
        "enrollment/apply_consent.html",
        {
            **_step_context("consent", draft),
            "form": form,
            "policy": policy,
            "summary": _draft_summary(draft, policy),
            "lookups": consent_lookups(),
            "problems": problems,
        },
    )


@parent_required
@require_POST
def apply_check(request):
    """htmx: check one field as the parent types, and answer in plain words."""
    field = request.POST.get("field", "")
    value = request.POST.get(field, "") if field else ""
    draft = _draft(request)
    policy = portal_forms.portal_policy()
    if field == "child_id_number":
        problem = portal_forms.child_id_problem(value, policy)
    elif field in ("guardian1_id_number", "guardian2_id_number"):
        if field == "guardian2_id_number" and not value.strip():
            return HttpResponse("")
        child_id = draft.get("child", {}).get("child_id_number", "")
        problem = portal_forms.guardian_id_problem(value, child_id_number=child_id)
    else:
        raise Http404
    return render(
        request,
        "enrollment/_field_check.html",
        {"problem": problem, "ok_message": _("号码格式正确。")},
    )


# --- after submission -----------------------------------------------------------------------


# Evidence is taken once the registry check has ended (enrollment.services.review).
EVIDENCE_STATES = (ApplicationState.NEEDS_REVIEW, ApplicationState.DECIDED)


def _missing_facts(application: Application, decision) -> list[str]:
    if decision is None or application.state not in EVIDENCE_STATES:
        return []
    if _withheld(application, decision):
        return [Evidence.Fact.RELATION.value]
    return missing_facts(decision)


def _withheld(application: Application, decision) -> bool:
    """Whether the signed-in account may not see what its application found (not a related
    guardian, selectors.decision_withheld): it then sees only what it submitted, and may
    prove its relation; never the facts, points, decision or results."""
    return decision_withheld(application=application, decision=decision)


def _detail_context(request, application: Application) -> dict:
    decision = (application.current_decisions or [None])[0]
    missing = _missing_facts(application, decision)
    evidence = list(application.evidence.order_by("-submitted_at"))
    if _withheld(application, decision):
        return {
            "application": application,
            "withheld": True,
            "decision": None,
            "polling": False,
            "facts": withheld_fact_rows(),
            "points": [],
            "reasons": [],
            "missing_facts": missing,
            "evidence": evidence,
            "evidence_form": portal_forms.EvidenceForm(facts=missing) if missing else None,
            "published": False,
        }
    return {
        "application": application,
        "decision": decision,
        "polling": application.state in POLLING_STATES,
        "facts": fact_rows(application, decision),
        "points": points_lines(decision) if decision else [],
        "reasons": reason_lines(decision) if decision else [],
        "missing_facts": missing,
        "evidence": evidence,
        "evidence_form": portal_forms.EvidenceForm(facts=missing) if missing else None,
        **results_context(request.user, application),
    }


@parent_required
@require_GET
def application_detail(request, ref: str):
    application = own_application(request, ref)
    return render(
        request, "enrollment/application_detail.html", _detail_context(request, application)
    )


@parent_required
@require_GET
def application_live(request, ref: str):
    """htmx: the verification panel, polled every 2 s while the registry is being asked.

    When the application leaves those states the whole page is reloaded, so that the points,
    the evidence form and the offer appear with it.
    """
    application = own_application(request, ref)
    context = _detail_context(request, application)
    response = render(request, "enrollment/_live.html", context)
    if request.htmx and not context["polling"]:
        response["HX-Refresh"] = "true"
    return response


@parent_required
@require_POST
def evidence_submit_view(request, ref: str):
    application = own_application(request, ref)
    decision = (application.current_decisions or [None])[0]
    missing = _missing_facts(application, decision)
    form = portal_forms.EvidenceForm(request.POST, request.FILES, facts=missing)
    if not missing or not form.is_valid():
        context = _detail_context(request, application)
        if missing:
            context["evidence_form"] = form
        else:
            messages.error(request, _("这份申请目前不需要补充材料。"))
        return render(request, "enrollment/application_detail.html", context, status=400)
    try:
        evidence_submit(
            application=application,
            actor=request.user,
            fact=form.cleaned_data["fact"],
            kind=form.cleaned_data["kind"],
            file=form.cleaned_data.get("file")
            if form.cleaned_data["kind"] == Evidence.Kind.UPLOAD
            else None,
            statement=form.cleaned_data.get("statement", ""),
        )
    except ApplicationError as refused:
        messages.error(request, portal_forms.friendly_message(refused))
    else:
        messages.success(request, _("材料已提交，工作人员审核后会更新结果。"))
    return redirect("application-detail", ref=application.ref)


@parent_required
@require_POST
def offer_answer_view(request, ref: str, offer_id: int):
    application = own_application(request, ref)
    offer = offer_get(user=request.user, offer_id=offer_id)
    answer = request.POST.get("answer", "")
    withheld = _withheld(application, (application.current_decisions or [None])[0])
    if withheld or offer is None or offer.application_id != application.id or answer not in ANSWERS:
        raise not_found(request, f"offer {offer_id} of {ref} or answer {answer[:16]!r}")
    if request.POST.get("confirmed") != "yes":
        # The first tap only asks: an answer cannot be changed, so nothing is written until
        # the family has seen the school and what follows, and confirmed.
        return render(
            request,
            "enrollment/offer_confirm.html",
            {
                "application": application,
                "offer": offer,
                "answer": answer,
                "waitlist": waitlist_places(application),
            },
        )
    try:
        offer = offer_answer(offer=offer, actor=request.user, answer=answer)
    except ApplicationError as refused:
        messages.error(request, portal_forms.offer_message(refused))
    else:
        if offer.status == Offer.Status.ACCEPTED:
            messages.success(
                request,
                _("您已接受学位。回执号 %(receipt)s，请按学校通知按时报到。")
                % {"receipt": offer.receipt_no},
            )
        else:
            messages.success(
                request, _("您已放弃这个学位。回执号 %(receipt)s。") % {"receipt": offer.receipt_no}
            )
    return redirect("application-detail", ref=application.ref)


@parent_required
@require_POST
def recheck_request_view(request, ref: str):
    application = own_application(request, ref)
    form = portal_forms.RecheckForm(request.POST)
    if not form.is_valid():
        context = _detail_context(request, application)
        context["recheck_form"] = form
        return render(request, "enrollment/application_detail.html", context, status=400)
    try:
        recheck_request(
            application=application, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as refused:
        messages.error(request, portal_forms.recheck_message(refused))
    else:
        messages.success(request, _("复核申请已提交，工作人员处理后会在这里告诉您结果。"))
    return redirect("application-detail", ref=application.ref)


@parent_required
@require_GET
def evidence_download(request, ref: str, evidence_id: int):
    application = own_application(request, ref)
    evidence = application.evidence.filter(pk=evidence_id).exclude(file="").first()
    if evidence is None:
        raise not_found(request, f"evidence {evidence_id} of {ref}")
    return FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=f"{application.ref}-{evidence.fact}-{evidence.pk}"
        + portal_forms.EVIDENCE_CONTENT_TYPES.get(evidence.content_type, ""),
        content_type=evidence.content_type or "application/octet-stream",
    )
