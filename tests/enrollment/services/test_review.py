"""Exception paths: evidence and commitments, the officer's review, re-verification;
the services and their APIs."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.gateway import RegistryUnavailable, get_gateway
from enrollment.models import AuditLog, Decision, Evidence, Role
from enrollment.selectors.applications import application_review_list
from enrollment.services.review import evidence_review, evidence_submit, verification_retry
from tests.conftest import HOME, YEAR
from tests.enrollment.factories import UserFactory
from tests.enrollment.pipeline_support import (
    child_id,
    guardian_id,
    household,
    submit,
    verify_all,
    worked_example,
)
from tests.registry.factories import HukouRecordFactory, PropertyRecordFactory

pytestmark = pytest.mark.django_db


PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _pdf(name="booklet.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture
def parent(db):
    return UserFactory(role=Role.PARENT, username="parent-review", identity=guardian_id(7))


def changes():
    """The audit log but for the parent's identity, bound when the fixture made the account."""
    return AuditLog.objects.exclude(action="identity.verify")


def _no_hukou_case(parent):
    """Worked example 7 for a parent's own application: the registry has no hukou."""
    mother = parent.verified_id_number  # the parent applies naming herself
    PropertyRecordFactory(owner_id_number=mother, share_percent=Decimal("100"), community_code=HOME)
    application = submit(child=child_id(7), guardians=[mother], user=parent)
    verify_all()
    application.refresh_from_db()
    return application


def _no_housing_case(parent):
    """District hukou since 2020-06-01, the mother (the parent applying) in the child's
    household; the registry knows no housing in the home community."""
    child, mother = child_id(8), parent.verified_id_number
    row = HukouRecordFactory(id_number=child, registered_on=date(2020, 6, 1))
    household(row, mother)
    application = submit(child=child, guardians=[mother], user=parent)
    verify_all()
    application.refresh_from_db()
    return application


def test_accepted_hukou_evidence_counts_as_the_class_and_date_the_officer_states(
    district, parent, officer
):
    application = _no_hukou_case(parent)
    assert application.state == "needs_review"

    evidence = evidence_submit(
        application=application, actor=parent, fact="hukou", kind="upload", file=_pdf()
    )
    evidence_review(
        actor=officer,
        evidence=evidence,
        accept=True,
        reason="police certificate checked at the counter",
        values={"hukou_class": "D", "registered_on": "2019-06-15"},
    )

    # then: the hukou counts as stated; without the child's hukou in the registry nobody was
    # related to the child, so the relation still waits for its own evidence (DOMAIN.md)
    application.refresh_from_db()
    assert application.state == "needs_review"
    decision = Decision.objects.get(application=application, is_current=True)
    assert (
        decision.basis,
        decision.outcome,
        decision.hukou_class,
        decision.residence_months,
        decision.total_points,
        decision.reasons,
        decision.decided_by,
    ) == (
        "reviewed",
        "needs_review",
        "D",
        93,
        Decimal("0.0"),
        ["GUARDIANSHIP_NOT_VERIFIED"],
        officer,
    )
    assert decision.reason == "police certificate checked at the counter"
    hukou_source = decision.facts["facts"]["sources"]["child_hukou"]
    assert (hukou_source["source"], hukou_source["key"]) == ("evidence", str(evidence.pk))
    assert decision.facts["evidence"] == [evidence.pk]
    assert Decision.objects.filter(application=application).count() == 2
    evidence.refresh_from_db()
    assert (evidence.review, evidence.content_type, evidence.size) == (
        "accepted",
        "application/pdf",
        len(PDF),
    )
    assert list(changes().order_by("id").values_list("action", "actor")) == [
        ("evidence.submit", parent.pk),
        ("evidence.accept", officer.pk),
        ("decision.recompute", officer.pk),
    ]
    accepted, recomputed = changes().order_by("id")[1:]
    assert (accepted.data["old"], accepted.data["new"]) == (
        {"review": "pending"},
        {"review": "accepted"},
    )
    assert (recomputed.data["old"], recomputed.data["new"]) == (
        {"outcome": "needs_review", "total_points": "0.0"},
        {"outcome": "needs_review", "total_points": "0"},
    )


def test_accepted_relation_evidence_verifies_again_and_scores_the_guardians_facts(
    district, parent, officer, django_capture_on_commit_callbacks
):
    # given: worked example 7 for a parent's own application, the hukou accepted on evidence
    application = _no_hukou_case(parent)
    hukou = evidence_submit(
        application=application, actor=parent, fact="hukou", kind="upload", file=_pdf()
    )
    evidence_review(
        actor=officer,
        evidence=hukou,
        accept=True,
        reason="booklet seen",
        values={"hukou_class": "D", "registered_on": "2019-06-15"},
    )
    relation = evidence_submit(
        application=application, actor=parent, fact="relation", kind="upload", file=_pdf()
    )

    # when: the officer accepts the booklet page as showing the mother is the child's guardian
    with django_capture_on_commit_callbacks(execute=True):
        evidence_review(
            actor=officer,
            evidence=relation,
            accept=True,
            reason="booklet page shows mother and child",
            values={"guardian_position": 1, "document": "household_booklet"},
        )

    # then: the registry was asked again, looked up the mother's flat, and the policy scored it
    application.refresh_from_db()
    assert application.state == "decided"
    decision = Decision.objects.get(application=application, is_current=True)
    assert (decision.basis, decision.outcome, decision.housing_class) == (
        "computed",
        "eligible",
        "OWN",
    )
    assert (decision.base_points, decision.bonus_points, decision.total_points) == (
        Decimal("100.0"),
        Decimal("9.3"),
        Decimal("109.3"),
    )
    assert decision.reasons == []
    assert decision.facts["answer"]["related_guardians"] == [
        {"guardian_index": 0, "basis": "evidence", "record": None}
    ]
    assert decision.facts["facts"]["sources"]["housing"]["source"] == "property"
    assert sorted(decision.facts["evidence"]) == sorted([hukou.pk, relation.pk])
    assert [(e.to_state, e.reason_code) for e in application.events.all()] == [
        ("submitted", "submitted"),
        ("verifying", "verification_started"),
        ("needs_review", "verified"),
        ("verifying", "verify_again"),
        ("decided", "verified"),
    ]
    granted = AuditLog.objects.get(action="guardianship.accept")
    assert (granted.actor, granted.target_type, granted.reason) == (
        officer,
        "Guardian",
        "booklet page shows mother and child",
    )
    assert (granted.data["old"], granted.data["new"], granted.data["document"]) == (
        {"related": False},
        {"related": True},
        "household_booklet",
    )


def test_relation_evidence_must_name_a_guardian_and_a_document_and_nothing_is_written(
    district, parent, officer
):
    application = _no_hukou_case(parent)
    relation = evidence_submit(
        application=application, actor=parent, fact="relation", kind="upload", file=_pdf()
    )

    with pytest.raises(ApplicationError) as refused:
        evidence_review(
            actor=officer,
            evidence=relation,
            accept=True,
            reason="ok",
            values={"guardian_position": 2, "document": "household_booklet"},
        )

    assert refused.value.field == "values.guardian_position"
    relation.refresh_from_db()
    assert relation.review == "pending"
    assert not AuditLog.objects.filter(action__in=["evidence.accept", "guardianship.accept"])
    assert Decision.objects.filter(application=application).count() == 1


def test_a_relation_cannot_be_promised_by_commitment(district, parent):
    application = _no_hukou_case(parent)

    with pytest.raises(ApplicationError) as refused:
        evidence_submit(
            application=application,
            actor=parent,
            fact="relation",
            kind="commitment",
            statement="她是孩子的母亲",
        )

    assert refused.value.field == "kind"
    assert not Evidence.objects.exists()


def test_accepted_housing_commitment_scores_as_rent(district, parent, officer):
    application = _no_housing_case(parent)
    assert Decision.objects.get(application=application).reasons == ["HOUSING_NOT_VERIFIED"]

    evidence = evidence_submit(
        application=application,
        actor=parent,
        fact="housing",
        kind="commitment",
        statement="本人承诺在该社区实际居住。",
    )
    evidence_review(actor=officer, evidence=evidence, accept=True, reason="visited the home")

    decision = Decision.objects.get(application=application, is_current=True)
    # D + RENT, owning nothing elsewhere = 90; 81 residence months = 8.1
    assert (decision.outcome, decision.housing_class, decision.total_points) == (
        "eligible",
        "RENT",
        Decimal("98.1"),
    )


def test_rejected_housing_evidence_decides_the_application_ineligible(district, parent, officer):
    application = _no_housing_case(parent)
    evidence = evidence_submit(
        application=application, actor=parent, fact="housing", kind="upload", file=_pdf()
    )

    evidence_review(actor=officer, evidence=evidence, accept=False, reason="contract expired")

    application.refresh_from_db()
    assert application.state == "decided"
    decision = Decision.objects.get(application=application, is_current=True)
    assert (decision.basis, decision.outcome, decision.reasons) == (
        "reviewed",
        "ineligible",
        ["HOUSING_NOT_VERIFIED"],
    )


def test_decision_waits_until_every_piece_of_evidence_is_reviewed(district, parent, officer):
    application = _no_housing_case(parent)
    first = evidence_submit(
        application=application, actor=parent, fact="housing", kind="upload", file=_pdf()
    )
    evidence_submit(
        application=application, actor=parent, fact="housing", kind="commitment", statement="承诺"
    )

    evidence_review(actor=officer, evidence=first, accept=True, reason="lease seen")

    application.refresh_from_db()
    assert application.state == "needs_review"
    assert Decision.objects.get(application=application, is_current=True).basis == "computed"
    queue = application_review_list(user=officer, admission_year=YEAR, state="needs_review")
    assert [a.ref for a in queue] == [application.ref]


def test_evidence_against_a_decision_reopens_it_for_review(district, parent):
    mother = parent.verified_id_number
    household(HukouRecordFactory(id_number=child_id(9), hukou_district_code="445202"), mother)
    PropertyRecordFactory(owner_id_number=mother, community_code=HOME)
    application = submit(child=child_id(9), guardians=[mother], user=parent)
    verify_all()
    application.refresh_from_db()
    assert application.state == "decided"

    evidence_submit(
        application=application,
        actor=parent,
        fact="hukou",
        kind="upload",
        file=SimpleUploadedFile("b.png", PNG, content_type="image/png"),
    )

    application.refresh_from_db()
    assert application.state == "needs_review"
    event = application.events.last()
    assert (event.reason_code, event.reason_params, event.reason) == (
        "evidence_offered",
        {"kind": "upload", "fact": "hukou"},
        "",
    )
    assert Evidence.objects.get().content_type == "image/png"


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"GIF89a" + b"\x00" * 20, "photo.pdf"),  # declared PDF, really a GIF
        (b"MZ\x90\x00" + b"\x00" * 20, "booklet.pdf"),  # an executable
        (b"", "empty.pdf"),
    ],
)
def test_uploads_other_than_pdf_jpeg_png_are_refused(district, parent, content, name):
    application = _no_hukou_case(parent)

    with pytest.raises(ApplicationError) as refused:
        evidence_submit(
            application=application,
            actor=parent,
            fact="hukou",
            kind="upload",
            file=_pdf(name, content),
        )

    assert refused.value.field == "file"
    assert Evidence.objects.count() == 0
    assert changes().count() == 0


def test_upload_over_the_size_limit_is_refused(district, parent, settings):
    settings.EVIDENCE_MAX_BYTES = 30
    application = _no_hukou_case(parent)

    with pytest.raises(ApplicationError) as refused:
        evidence_submit(
            application=application,
            actor=parent,
            fact="hukou",
            kind="upload",
            file=_pdf(content=PDF + b"0" * 10),
        )

    assert refused.value.message == "file: must be between 1 byte and 30 bytes"
    assert Evidence.objects.count() == 0


def test_another_parent_cannot_offer_evidence(district, parent):
    application = _no_hukou_case(parent)
    stranger = UserFactory(role=Role.PARENT)

    with pytest.raises(ApplicationError) as refused:
        evidence_submit(
            application=application, actor=stranger, fact="hukou", kind="upload", file=_pdf()
        )

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert Evidence.objects.count() == 0


def test_review_needs_a_reason_and_an_officer_of_the_district(district, parent, officer):
    application = _no_hukou_case(parent)
    evidence = evidence_submit(
        application=application, actor=parent, fact="hukou", kind="upload", file=_pdf()
    )
    elsewhere = UserFactory(role=Role.OFFICER, district_code="440605")

    with pytest.raises(ApplicationError) as no_reason:
        evidence_review(actor=officer, evidence=evidence, accept=False, reason="  ")
    with pytest.raises(ApplicationError) as other_district:
        evidence_review(actor=elsewhere, evidence=evidence, accept=False, reason="no")
    with pytest.raises(ApplicationError) as no_values:
        evidence_review(actor=officer, evidence=evidence, accept=True, reason="seen")

    assert no_reason.value.code == ErrorCode.REASON_REQUIRED
    assert other_district.value.code == ErrorCode.PERMISSION_DENIED
    assert no_values.value.field == "values.hukou_class"
    evidence.refresh_from_db()
    assert evidence.review == "pending"
    assert changes().exclude(action="evidence.submit").count() == 0
    assert Decision.objects.filter(application=application).count() == 1


def test_retry_after_the_attempt_cap_verifies_again(
    district, officer, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.VERIFICATION_MAX_ATTEMPTS = 1
    application = worked_example(1)
    with monkeypatch.context() as patch:
        patch.setattr(
            get_gateway(),
            "verify_families",
            lambda **kw: (_ for _ in ()).throw(RegistryUnavailable("down")),
        )
        verify_all()
    application.refresh_from_db()
    assert application.state == "needs_review"

    with django_capture_on_commit_callbacks(execute=True):
        verification_retry(actor=officer, application=application, reason="registry is back")

    application.refresh_from_db()
    assert application.state == "decided"
    assert Decision.objects.get(application=application).total_points == Decimal("109.3")
    retried = changes().get()
    assert (retried.action, retried.data) == (
        "verification.retry",
        {"old": {"state": "needs_review"}, "new": {"state": "verifying"}},
    )
    assert list(application.events.values_list("reason_code", "reason_params", "reason")) == [
        ("submitted", {}, ""),
        ("verification_started", {}, ""),
        ("registry_unavailable", {"attempts": 1}, ""),
        ("verify_again", {}, "registry is back"),
        ("verified", {}, ""),
    ]
