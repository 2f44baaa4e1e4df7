"""An officer settles a case: a fact accepted on their own finding and scored by the policy, so
that the decision, its points and its trace agree; or an application decided not eligible by
hand. No outcome is made eligible by hand."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import ApplicationEvent, AuditLog, Decision, Evidence, Role
from enrollment.services.findings import decision_override, finding_accept
from enrollment.services.review import evidence_submit
from tests.enrollment.factories import UserFactory
from tests.enrollment.pipeline_support import verify_all, worked_example

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"


def _written(application) -> tuple:
    return (
        list(Decision.objects.filter(application=application).values_list("id", "is_current")),
        Evidence.objects.filter(application=application).count(),
        AuditLog.objects.count(),
        ApplicationEvent.objects.filter(application=application).count(),
    )


def _summary(decision: Decision) -> tuple:
    return (
        decision.outcome,
        decision.basis,
        decision.hukou_class,
        decision.housing_class,
        decision.base_points,
        decision.bonus_points,
        decision.total_points,
        decision.reasons,
    )


def test_accepting_housing_scores_the_case_as_rent_with_its_points(district, officer):
    # given: DOMAIN.md example 9: class N, 40 insured months, a permit issued too recently,
    # and the rental in the home community names nobody of the family
    application = worked_example(9)
    verify_all()
    first = Decision.objects.get(application=application, is_current=True)
    assert (first.outcome, first.reasons) == (
        "needs_review",
        ["HOUSING_NOT_VERIFIED", "PERMIT_MISSING"],
    )

    # when: the officer saw the family's registered rental contract at the counter
    finding = finding_accept(
        actor=officer,
        application=application,
        fact="housing",
        reason="窗口查验租赁合同原件",
        expected_decision_id=first.pk,
    )

    # then: scored as RENT: N + RENT = 60, 0.1 * (40 - 12) = 2.8; the permit is still missing
    decision = Decision.objects.get(application=application, is_current=True)
    assert _summary(decision) == (
        "ineligible",
        "reviewed",
        "N",
        "RENT",
        Decimal("60.0"),
        Decimal("2.8"),
        Decimal("62.8"),
        ["PERMIT_MISSING"],
    )
    housing = next(step for step in decision.trace if step["rule"] == "housing_class")
    assert (housing["value"], housing["evidence_accepted"], housing["source"]["kind"]) == (
        "RENT",
        True,
        "finding",
    )
    assert (finding.kind, finding.review, finding.reviewed_by, finding.review_reason) == (
        "finding",
        "accepted",
        officer,
        "窗口查验租赁合同原件",
    )
    application.refresh_from_db()
    assert application.state == "decided"
    event = application.events.last()
    assert (event.reason_code, event.reason_params, event.reason, event.actor) == (
        "finding_accepted",
        {"fact": "housing"},
        "窗口查验租赁合同原件",
        officer,
    )
    audit = AuditLog.objects.get(action="finding.accept")
    assert (audit.actor, audit.reason, audit.target_id, audit.data) == (
        officer,
        "窗口查验租赁合同原件",
        str(finding.pk),
        {
            "application": application.ref,
            "fact": "housing",
            "decision": first.pk,
            "old": {"outcome": "needs_review", "total_points": "0.0"},
        },
    )
    recompute = AuditLog.objects.get(action="decision.recompute")
    assert recompute.data["new"] == {"outcome": "ineligible", "total_points": "62.8"}

    # when: the permit bureau confirms in writing a permit that qualifies
    finding_accept(
        actor=officer,
        application=application,
        fact="residence_permit",
        reason="公安分局书面答复：居住证 2025 年已签发",
    )

    # then: eligible, with the very same points
    decision = Decision.objects.get(application=application, is_current=True)
    assert _summary(decision) == (
        "eligible",
        "reviewed",
        "N",
        "RENT",
        Decimal("60.0"),
        Decimal("2.8"),
        Decimal("62.8"),
        [],
    )
    application.refresh_from_db()
    assert application.state == "decided"
    assert application.events.last().reason_params == {"fact": "residence_permit"}


def test_a_hukou_finding_counts_the_class_and_date_the_officer_states(district, officer):
    # given: example 7, no hukou for the child (so nobody could be related either)
    application = worked_example(7)
    verify_all()

    finding_accept(
        actor=officer,
        application=application,
        fact="hukou",
        reason="派出所户籍证明",
        values={"hukou_class": "D", "registered_on": "2019-06-15"},
    )

    # then: the hukou now counts, but guardianship and housing are still for the officer
    decision = Decision.objects.get(application=application, is_current=True)
    assert (decision.outcome, decision.hukou_class, decision.residence_months) == (
        "needs_review",
        "D",
        93,
    )
    assert decision.reasons == ["GUARDIANSHIP_NOT_VERIFIED"]
    application.refresh_from_db()
    assert application.state == "needs_review"


def test_a_finding_without_the_values_it_needs_is_refused_and_writes_nothing(district, officer):
    application = worked_example(7)
    verify_all()
    before = _written(application)

    with pytest.raises(ApplicationError) as no_class:
        finding_accept(actor=officer, application=application, fact="hukou", reason="证明")
    with pytest.raises(ApplicationError) as no_reason:
        finding_accept(actor=officer, application=application, fact="housing", reason="  ")
    with pytest.raises(ApplicationError) as no_fact:
        finding_accept(actor=officer, application=application, fact="points", reason="证明")

    assert (no_class.value.code, no_class.value.field) == (ErrorCode.INVALID, "values.hukou_class")
    assert no_reason.value.code == ErrorCode.REASON_REQUIRED
    assert (no_fact.value.code, no_fact.value.field) == (ErrorCode.INVALID, "fact")
    assert _written(application) == before


def test_a_finding_while_the_familys_evidence_waits_is_refused_and_writes_nothing(
    district, officer
):
    application = worked_example(9)
    verify_all()
    evidence_submit(
        application=application,
        actor=officer,  # entered at the counter: the officer offers the family's evidence
        fact="housing",
        kind="upload",
        file=SimpleUploadedFile("lease.pdf", PDF, content_type="application/pdf"),
    )
    before = _written(application)

    with pytest.raises(ApplicationError) as refused:
        finding_accept(actor=officer, application=application, fact="housing", reason="原件")

    assert (refused.value.code, refused.value.field, refused.value.why) == (
        ErrorCode.ILLEGAL_TRANSITION,
        "evidence",
        "evidence_pending",
    )
    assert _written(application) == before


def test_a_finding_against_a_decision_replaced_meanwhile_is_refused(district, officer):
    application = worked_example(9)
    verify_all()
    shown = Decision.objects.get(application=application, is_current=True).pk
    finding_accept(
        actor=officer,
        application=application,
        fact="housing",
        reason="原件",
        expected_decision_id=shown,
    )
    before = _written(application)

    with pytest.raises(ApplicationError) as refused:
        finding_accept(
            actor=officer,
            application=application,
            fact="residence_permit",
            reason="书面答复",
            expected_decision_id=shown,
        )

    assert refused.value.code == ErrorCode.STALE_DECISION
    assert _written(application) == before


def test_an_officer_of_another_district_cannot_record_a_finding(district, officer):
    application = worked_example(9)
    verify_all()
    elsewhere = UserFactory(role=Role.OFFICER, username="officer-nanhai", district_code="440605")
    before = _written(application)

    with pytest.raises(ApplicationError) as refused:
        finding_accept(actor=elsewhere, application=application, fact="housing", reason="原件")

    assert refused.value.code == ErrorCode.PERMISSION_DENIED
    assert _written(application) == before


# --- deciding a case not eligible by hand -------------------------------------------------------


def test_an_override_to_eligible_is_refused_and_writes_nothing(district, officer):
    # given: the case officers met: housing not verified, nothing scored
    application = worked_example(9)
    verify_all()
    before = _written(application)

    with pytest.raises(ApplicationError) as refused:
        decision_override(
            actor=officer, application=application, outcome="eligible", reason="住房已核实"
        )

    assert (refused.value.code, refused.value.field, refused.value.why) == (
        ErrorCode.INVALID,
        "outcome",
        "eligible_needs_fact",
    )
    assert _written(application) == before
    application.refresh_from_db()
    assert application.state == "needs_review"


def test_override_decides_not_eligible_with_a_reason_and_is_audited(district, officer):
    application = worked_example(4)  # eligible, 62.8
    verify_all()

    decision = decision_override(
        actor=officer,
        application=application,
        outcome="ineligible",
        reason="租赁备案经核查为虚假备案",
    )

    assert (decision.basis, decision.outcome, decision.total_points, decision.decided_by) == (
        "override",
        "ineligible",
        Decimal("62.8"),
        officer,
    )
    assert decision.trace[-1] == {
        "step": "override",
        "rule": "officer.override",
        "from": "eligible",
        "value": "ineligible",
        "officer": officer.pk,
        "reason": "租赁备案经核查为虚假备案",
    }
    assert Decision.objects.filter(application=application, is_current=True).get() == decision
    log = AuditLog.objects.get(action="decision.override")
    assert (log.actor, log.reason, log.data["from"], log.data["to"]) == (
        officer,
        "租赁备案经核查为虚假备案",
        "eligible",
        "ineligible",
    )
    application.refresh_from_db()
    event = application.events.last()
    assert (event.reason_code, event.reason) == ("override", "租赁备案经核查为虚假备案")


def test_override_without_reason_writes_nothing(district, officer):
    application = worked_example(4)
    verify_all()
    before = _written(application)

    with pytest.raises(ApplicationError) as refused:
        decision_override(actor=officer, application=application, outcome="ineligible", reason="")

    assert refused.value.code == ErrorCode.REASON_REQUIRED
    assert _written(application) == before


def test_override_of_a_decision_replaced_meanwhile_is_refused_and_writes_nothing(district, officer):
    application = worked_example(4)
    verify_all()
    seen = Decision.objects.get(application=application, is_current=True)
    first = decision_override(
        actor=officer,
        application=application,
        outcome="ineligible",
        reason="租赁备案经核查为虚假备案",
        expected_decision_id=seen.pk,
    )
    before = _written(application)

    with pytest.raises(ApplicationError) as refused:
        decision_override(
            actor=officer,
            application=application,
            outcome="ineligible",
            reason="申请人并非监护人",
            expected_decision_id=seen.pk,
        )

    assert (refused.value.code, refused.value.field) == (ErrorCode.STALE_DECISION, "decision_id")
    assert Decision.objects.get(application=application, is_current=True) == first
    assert _written(application) == before
