"""An account the registry does not relate to the child sees nothing beyond its own submission.

The attack: a stranger with a verified identity applies naming themselves and the child's real
mother as guardians. The registry relates the mother (same household) and looks up her flat,
so the policy finds the application eligible on her facts. The stranger must learn none of
that (not the decision, the points, the mother's flat, the lookups about the family), must not
hold a place through an officer's bare override, and the application goes to an officer. Once
an officer accepts evidence of the stranger's own relation, the account sees the application
as any guardian does.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from enrollment.errors import ApplicationError
from enrollment.models import Application, Decision, Role, VerificationJob, applicant_is_related
from enrollment.services.findings import decision_override, finding_accept
from enrollment.services.review import evidence_review, evidence_submit
from enrollment.services.subject_access import subject_access_export
from enrollment.services.verification import verification_run
from registry import idnumber
from tests.conftest import HOME, PARENT_ID_NUMBER, YEAR, client_for
from tests.enrollment.factories import UserFactory
from tests.registry.factories import HukouRecordFactory, PropertyRecordFactory, related_family

pytestmark = pytest.mark.django_db

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = PARENT_ID_NUMBER
STRANGER = idnumber.make("440604", date(1980, 8, 8), 771)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def family(district):
    """DOMAIN.md example 1, and a stranger with a hukou of their own in another household."""
    related_family(CHILD, MOTHER, hukou_district_code="440604", registered_on=date(2019, 6, 15))
    PropertyRecordFactory(owner_id_number=MOTHER, share_percent=Decimal("100"), community_code=HOME)
    HukouRecordFactory(id_number=STRANGER, household_no="H-ELSEWHERE")


@pytest.fixture
def stranger(db):
    return UserFactory(role=Role.PARENT, username="13700000007", identity=STRANGER)


def stray_application(stranger) -> Application:
    """The stranger applies as the father, naming the real mother second."""
    response = client_for(stranger).post(
        "/api/v1/applications/",
        {
            "admission_year": YEAR,
            "child": {"name": "陈小明", "id_number": CHILD},
            "guardians": [
                {"name": "赵强", "id_number": STRANGER, "relation": "father"},
                {"name": "李美玲", "id_number": MOTHER, "relation": "mother"},
            ],
            "home_community_code": HOME,
            "preferences": ["S440604001"],
            "consent_given_by": STRANGER,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    verification_run(
        job_ids=list(VerificationJob.objects.filter(status="pending").values_list("id", flat=True))
    )
    return Application.objects.get(ref=response.json()["ref"])


def page(user, name: str, *args) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("related", "accepted", "expected"),
    [
        ({0}, set(), True),  # the applicant is the first guardian, related by household
        ({1}, set(), False),  # only the other guardian is related
        ({1}, {1}, True),  # the applicant's position (1) accepted on evidence
        ({1}, {2}, False),  # evidence accepted for the other guardian only
        (set(), set(), False),
        (None, set(), True),  # answered before the registry related guardians at all
    ],
)
def test_the_rule_reads_the_applicants_own_guardian(related, accepted, expected):
    guardians = [(1, STRANGER), (2, MOTHER)]
    assert (
        applicant_is_related(
            applicant_id_number=STRANGER,
            guardians=guardians,
            related_indexes=related,
            accepted_positions=accepted,
        )
        is expected
    )


def test_an_applicant_not_named_among_the_guardians_is_not_related():
    assert not applicant_is_related(
        applicant_id_number=STRANGER, guardians=[(1, MOTHER)], related_indexes={0}
    )


def test_scored_on_the_mothers_facts_but_sent_to_an_officer(family, stranger):
    application = stray_application(stranger)

    decision = Decision.objects.get(application=application, is_current=True)
    assert (decision.outcome, decision.total_points) == ("eligible", Decimal("109.3"))
    assert application.state == "needs_review"
    assert list(application.events.values_list("to_state", "reason_code")) == [
        ("submitted", "submitted"),
        ("verifying", "verification_started"),
        ("needs_review", "applicant_not_related"),
    ]


def test_the_strangers_pages_show_the_submission_and_nothing_found(family, stranger):
    application = stray_application(stranger)

    detail = page(stranger, "application-detail", application.ref)
    home = page(stranger, "home")

    assert application.ref in detail
    assert "数据平台没有查到您本人与孩子的监护关系" in detail
    for leaked in ("109.3", "100 %", "同一户口", "李美玲（母亲）", "不动产", "符合条件"):
        assert leaked not in detail, leaked
    assert "109.3" not in home
    assert "符合条件" not in home
    # The one thing the account may do: prove its own relation.
    assert 'value="relation"' in detail


def test_the_api_withholds_the_decision(family, stranger):
    application = stray_application(stranger)

    body = client_for(stranger).get(f"/api/v1/applications/{application.ref}/").json()

    assert (body["applicant_relation"], body["decision"]) == ("unconfirmed", None)
    assert body["state"] == "needs_review"


def test_the_strangers_lookup_page_lists_only_lookups_about_themselves(family, stranger, parent):
    ours = client_for(parent).post(
        "/api/v1/applications/",
        {
            "admission_year": YEAR,
            "child": {"name": "陈小明", "id_number": CHILD},
            "guardians": [{"name": "李美玲", "id_number": MOTHER, "relation": "mother"}],
            "home_community_code": HOME,
            "preferences": ["S440604001"],
            "consent_given_by": MOTHER,
        },
        format="json",
    )
    assert ours.status_code == 201
    theirs = stray_application(stranger)
    family_consent = Application.objects.get(ref=ours.json()["ref"]).consent.reference

    html = page(stranger, "application-lookups", theirs.ref)

    assert family_consent not in html
    assert theirs.consent.reference in html


def test_the_subject_access_download_holds_no_decision_and_no_family_lookups(family, stranger):
    application = stray_application(stranger)

    document = subject_access_export(actor=stranger)

    [entry] = document["applications"]
    assert (entry["ref"], entry["decisions"], entry["offers"]) == (application.ref, [], [])
    assert {record["consent_reference"] for record in document["registry_lookups"]} == {
        application.consent.reference
    }


def test_an_officer_cannot_make_it_eligible_without_the_relation(family, stranger, officer):
    application = stray_application(stranger)
    before = list(Decision.objects.values_list("id", "outcome", "is_current"))

    with pytest.raises(ApplicationError) as refused:
        decision_override(
            actor=officer, application=application, outcome="eligible", reason="材料齐全"
        )

    assert refused.value.field == "outcome"
    assert list(Decision.objects.values_list("id", "outcome", "is_current")) == before
    application.refresh_from_db()
    assert application.state == "needs_review"


def test_no_other_fact_can_be_accepted_before_the_applicants_own_relation(
    family, stranger, officer
):
    application = stray_application(stranger)
    before = list(Decision.objects.values_list("id", "outcome", "is_current"))

    with pytest.raises(ApplicationError) as refused:
        finding_accept(actor=officer, application=application, fact="housing", reason="材料齐全")

    assert (refused.value.field, refused.value.why) == ("fact", "applicant_not_related")
    assert list(Decision.objects.values_list("id", "outcome", "is_current")) == before
    assert not application.evidence.exists()
    application.refresh_from_db()
    assert application.state == "needs_review"


def test_accepted_evidence_of_the_applicants_relation_opens_the_application_to_them(
    family, stranger, officer, django_capture_on_commit_callbacks
):
    application = stray_application(stranger)
    evidence = evidence_submit(
        application=application,
        actor=stranger,
        fact="relation",
        kind="upload",
        file=SimpleUploadedFile("booklet.pdf", PDF, content_type="application/pdf"),
    )

    with django_capture_on_commit_callbacks(execute=True):
        evidence_review(
            actor=officer,
            evidence=evidence,
            accept=True,
            reason="出生医学证明载明父亲",
            values={"guardian_position": 1, "document": "birth_certificate"},
        )

    application.refresh_from_db()
    assert application.state == "decided"
    decision = Decision.objects.get(application=application, is_current=True)
    assert decision.facts["answer"]["related_guardians"] == [
        {"guardian_index": 0, "basis": "evidence", "record": None},
        {
            "guardian_index": 1,
            "basis": "household",
            "record": decision.facts["answer"]["related_guardians"][1]["record"],
        },
    ]
    assert "109.3" in page(stranger, "application-detail", application.ref)
