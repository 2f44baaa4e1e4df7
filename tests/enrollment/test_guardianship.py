"""Who the child is to them (DOMAIN.md, "Guardianship"), end to end: the registry's facts, the
decision, and what the parent's page, the officer's case page and the API show.

A family cannot borrow a stranger's flat or pension: an adult named on an application who is
not a related guardian has nothing looked up, and nothing about them appears anywhere.
"""

import logging
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from enrollment.models import AuditLog, Decision, Evidence
from registry import idnumber
from tests.conftest import HOME
from tests.enrollment.pipeline_support import child_id, guardian_id, household, submit, verify_all
from tests.registry.factories import (
    HukouRecordFactory,
    PropertyRecordFactory,
    RentalRecordFactory,
    ResidencePermitRecordFactory,
)

pytestmark = pytest.mark.django_db

BACKEND = "django.contrib.auth.backends.ModelBackend"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"
# What a stranger holds: a flat at the family's address, a rental, a permit.
STRANGER_FLAT = "粤2019佛禅不动产权第7777777号"
STRANGER_RENTAL = "ZL-STRANGER-01"
STRANGER_PERMIT = "JZZ-STRANGER-01"
STRANGER_HOUSEHOLD = "H-STRANGER"


def _signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user, backend=BACKEND)
    return client


def _stranger(id_number: str) -> None:
    HukouRecordFactory(id_number=id_number, household_no=STRANGER_HOUSEHOLD)
    PropertyRecordFactory(
        certificate_no=STRANGER_FLAT,
        owner_id_number=id_number,
        share_percent=Decimal("100"),
        community_code=HOME,
    )
    RentalRecordFactory(
        registration_no=STRANGER_RENTAL, tenant_id_number=id_number, community_code=HOME
    )
    ResidencePermitRecordFactory(permit_no=STRANGER_PERMIT, id_number=id_number)


def _everything_shown(application, parent, officer, api) -> str:
    """The parent's page, the officer's case page and both APIs' views of the application."""
    pages = [
        _signed_in(parent).get(reverse("application-detail", args=[application.ref])),
        _signed_in(officer).get(reverse("staff:officer-case", args=[application.ref])),
        api(parent).get(f"/api/v1/applications/{application.ref}/"),
        api(officer).get("/api/v1/officer/decisions/", {"year": application.admission_year}),
    ]
    assert [page.status_code for page in pages] == [200, 200, 200, 200]
    return "\n".join(page.content.decode() for page in pages)


def test_example_8_the_mothers_flat_is_neither_looked_up_nor_shown(
    district, parent, officer, api, caplog
):
    # given: DOMAIN.md example 1, but the mother's hukou is in another household
    caplog.set_level(logging.DEBUG)
    child, mother = child_id(1), parent.verified_id_number  # the parent applying
    HukouRecordFactory(
        id_number=child, hukou_district_code="440604", registered_on=date(2019, 6, 15)
    )
    _stranger(mother)
    application = submit(child=child, guardians=[mother], user=parent)

    # when
    verify_all()

    # then: needs_review for the relation alone; no points; her flat is in no fact
    decision = Decision.objects.get(application=application, is_current=True)
    assert (decision.outcome, decision.reasons, decision.housing_class) == (
        "needs_review",
        ["GUARDIANSHIP_NOT_VERIFIED"],
        "NONE",
    )
    assert (decision.base_points, decision.bonus_points, decision.total_points) == (
        Decimal("0.0"),
        Decimal("0.0"),
        Decimal("0.0"),
    )
    assert decision.facts["answer"]["related_guardians"] == []
    assert decision.facts["answer"]["housing"]["owned_record"] is None
    shown = _everything_shown(application, parent, officer, api)
    for value in (STRANGER_FLAT, STRANGER_RENTAL, STRANGER_PERMIT, STRANGER_HOUSEHOLD):
        assert value not in shown
        assert value not in str(decision.facts)
        assert value not in caplog.text
    # and the parent is told in plain words what to bring, and shown nothing the registry
    # found about the child until she is confirmed as a guardian
    page = _signed_in(parent).get(reverse("application-detail", args=[application.ref]))
    text = page.content.decode()
    assert "数据平台没有查到您本人与孩子的监护关系" in text
    assert "孩子的出生医学证明" in text
    assert "2019-06-15" not in text
    assert "孩子户籍" not in text
    assert '<option value="relation">监护关系</option>' in text


def test_example_8_in_english_says_what_to_bring(district, parent):
    child, mother = child_id(2), parent.verified_id_number  # the parent applying
    HukouRecordFactory(id_number=child, registered_on=date(2019, 6, 15))
    HukouRecordFactory(id_number=mother, household_no="H-ELSEWHERE")
    application = submit(child=child, guardians=[mother], user=parent)
    verify_all()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(parent, backend=BACKEND)

    text = client.get(reverse("application-detail", args=[application.ref])).content.decode()

    assert "did not find you related to the child" in text
    assert "birth certificate" in text
    assert "Child's hukou" not in text


def test_example_7_no_hukou_for_the_child_lists_both_codes_and_looks_up_no_adult(
    district, parent, officer, api
):
    child, mother = child_id(3), parent.verified_id_number  # the parent applying
    _stranger(mother)  # the mother's own rows, with no child to relate her to
    application = submit(child=child, guardians=[mother], user=parent)

    verify_all()

    decision = Decision.objects.get(application=application, is_current=True)
    assert (decision.outcome, decision.reasons, decision.housing_class, decision.si_months) == (
        "needs_review",
        ["CHILD_HUKOU_NOT_FOUND", "GUARDIANSHIP_NOT_VERIFIED"],
        "NONE",
        0,
    )
    assert decision.facts["answer"]["permit"] is None
    shown = _everything_shown(application, parent, officer, api)
    for value in (STRANGER_FLAT, STRANGER_RENTAL, STRANGER_PERMIT):
        assert value not in shown


def test_a_stranger_named_beside_the_real_father_lends_nothing_and_appears_nowhere(
    district, parent, officer, api, caplog
):
    # given: the father shares the child's household and holds nothing; the parent names a
    # stranger with a flat, a rental and a permit as the second guardian
    caplog.set_level(logging.DEBUG)
    child, father, stranger = child_id(4), parent.verified_id_number, guardian_id(404)
    household(HukouRecordFactory(id_number=child, registered_on=date(2019, 6, 15)), father)
    _stranger(stranger)
    application = submit(child=child, guardians=[father, stranger], user=parent)

    verify_all()

    # then: only the father's (absent) facts count: housing is not verified
    decision = Decision.objects.get(application=application, is_current=True)
    assert (decision.outcome, decision.reasons, decision.housing_class) == (
        "needs_review",
        ["HOUSING_NOT_VERIFIED"],
        "NONE",
    )
    assert [g["guardian_index"] for g in decision.facts["answer"]["related_guardians"]] == [0]
    shown = _everything_shown(application, parent, officer, api)
    for value in (STRANGER_FLAT, STRANGER_RENTAL, STRANGER_PERMIT, STRANGER_HOUSEHOLD):
        assert value not in shown
        assert value not in str(decision.facts)
        assert value not in str(decision.trace)
        assert value not in caplog.text
    assert stranger not in shown
    assert idnumber.mask(stranger) in shown  # named on the case page, masked, as entered
    case = _signed_in(officer).get(reverse("staff:officer-case", args=[application.ref]))
    assert "未能确认监护关系：未查询其住房、社保和居住证" in case.content.decode()


def test_a_stranger_named_alone_gives_guardianship_not_verified(district, parent):
    # the parent applying is the stranger: the registry does not relate them to the child
    child, stranger = child_id(5), parent.verified_id_number
    HukouRecordFactory(id_number=child, registered_on=date(2019, 6, 15))
    _stranger(stranger)
    application = submit(child=child, guardians=[stranger], user=parent)

    verify_all()

    decision = Decision.objects.get(application=application, is_current=True)
    assert (decision.outcome, decision.reasons, decision.total_points) == (
        "needs_review",
        ["GUARDIANSHIP_NOT_VERIFIED"],
        Decimal("0.0"),
    )


def test_example_9_waiting_for_housing_lists_the_permit_code_too(district):
    from tests.enrollment.pipeline_support import worked_example

    application = worked_example(9)

    verify_all()

    decision = Decision.objects.get(application=application, is_current=True)
    assert (decision.outcome, decision.reasons) == (
        "needs_review",
        ["HOUSING_NOT_VERIFIED", "PERMIT_MISSING"],
    )


def test_the_officer_accepts_relation_evidence_on_the_case_page_and_the_case_is_rescored(
    district, parent, officer, django_capture_on_commit_callbacks
):
    # given: example 8, and the parent's birth certificate upload
    child, mother = child_id(6), parent.verified_id_number  # the parent applying
    HukouRecordFactory(
        id_number=child, hukou_district_code="440604", registered_on=date(2019, 6, 15)
    )
    HukouRecordFactory(id_number=mother, household_no="H-MOTHER-OWN")
    PropertyRecordFactory(owner_id_number=mother, share_percent=Decimal("100"), community_code=HOME)
    application = submit(child=child, guardians=[mother], user=parent)
    verify_all()
    uploaded = _signed_in(parent).post(
        reverse("application-evidence", args=[application.ref]),
        {
            "fact": "relation",
            "kind": "upload",
            "file": SimpleUploadedFile("birth.pdf", PDF, content_type="application/pdf"),
        },
    )
    assert uploaded.status_code == 302
    evidence = Evidence.objects.get(application=application)
    page = _signed_in(officer).get(reverse("staff:officer-case", args=[application.ref]))
    assert f'name="guardian_position" id="ev{evidence.pk}_guardian_position"' in (
        page.content.decode()
    )

    # when
    with django_capture_on_commit_callbacks(execute=True):
        answered = _signed_in(officer).post(
            reverse("staff:officer-case-evidence", args=[application.ref]),
            {
                "evidence": evidence.pk,
                "verdict": "accept",
                "guardian_position": "1",
                "relation_document": "birth_certificate",
                "reason": "出生医学证明载明母亲",
            },
        )

    # then: recorded, audited, verified again with her facts, scored through the policy
    assert answered.status_code == 302
    evidence.refresh_from_db()
    assert (evidence.review, evidence.accepted_values) == (
        "accepted",
        {"guardian_position": 1, "document": "birth_certificate"},
    )
    assert AuditLog.objects.filter(action="guardianship.accept", actor=officer).count() == 1
    decision = Decision.objects.get(application=application, is_current=True)
    assert (decision.outcome, decision.housing_class, decision.total_points, decision.reasons) == (
        "eligible",
        "OWN",
        Decimal("109.3"),
        [],
    )
    assert decision.trace[1] == {
        "step": "fact",
        "rule": "guardianship",
        "fact": "guardianship",
        "value": True,
        "source": [
            {"source": "evidence", "guardian_index": 0},
            {
                "source": "evidence",
                "key": str(evidence.pk),
                "kind": "upload",
                "reviewed_by": officer.pk,
                "reviewed_at": evidence.reviewed_at.isoformat(),
                "guardian_position": 1,
            },
        ],
    }
    page = _signed_in(parent).get(reverse("application-detail", args=[application.ref]))
    assert "家长0（母亲）已按工作人员采纳的材料认定为监护人" in page.content.decode()
