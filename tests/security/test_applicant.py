"""Who may apply for a child, and what a stranger can learn by trying.

An account applies only with a verified identity, naming itself among the guardians. A
stranger who applies for someone else's child cannot keep the family out: the family's
application is taken too and decided as usual, the stranger's goes to an officer. And nothing a stranger sees (an error,
the submission's answer, their application's page) says whether the child has applied.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from enrollment.models import Application, ApplicationEvent, Decision, Role
from enrollment.services.findings import decision_override
from enrollment.services.verification import verification_run
from registry import idnumber
from tests.conftest import HOME, PARENT_ID_NUMBER, YEAR, client_for
from tests.enrollment.factories import UserFactory
from tests.registry.factories import PropertyRecordFactory, related_family
from tests.security.conftest import stored_rows

pytestmark = pytest.mark.django_db

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = PARENT_ID_NUMBER
STRANGER = idnumber.make("440604", date(1980, 8, 8), 771)
OFFICER_REASON = "申请人不是孩子的监护人"


@pytest.fixture
def family(district):
    """DOMAIN.md example 1: the child's hukou in the district, the mother in the child's
    household and owning at home."""
    related_family(CHILD, MOTHER, hukou_district_code="440604", registered_on=date(2019, 6, 15))
    PropertyRecordFactory(owner_id_number=MOTHER, share_percent=Decimal("100"), community_code=HOME)


@pytest.fixture
def stranger(db):
    return UserFactory(role=Role.PARENT, username="13700000007", identity=STRANGER)


def body(guardian: str, name: str = "李美玲") -> dict:
    return {
        "admission_year": YEAR,
        "child": {"name": "陈小明", "id_number": CHILD},
        "guardians": [{"name": name, "id_number": guardian, "relation": "mother"}],
        "home_community_code": HOME,
        "preferences": ["S440604001"],
        "consent_given_by": guardian,
    }


def submit(user, payload: dict):
    return client_for(user).post("/api/v1/applications/", payload, format="json")


def verify_all() -> None:
    from enrollment.models import VerificationJob

    verification_run(
        job_ids=list(VerificationJob.objects.filter(status="pending").values_list("id", flat=True))
    )


def without_ref(response) -> tuple:
    data = response.json()
    return response.status_code, {k: v for k, v in data.items() if k != "ref"}


def tried(call):
    """What `call` answers, with everything it wrote rolled back."""
    with transaction.atomic():
        answer = call()
        transaction.set_rollback(True)
    return answer


def test_an_unverified_parent_cannot_apply_by_api_or_page_and_nothing_is_written(family):
    unverified = UserFactory(role=Role.PARENT, username="13700000001")
    page = Client()
    page.force_login(unverified)
    before = stored_rows()

    refused = submit(unverified, body(MOTHER))

    assert refused.status_code == 403
    assert refused.json() == {
        "message": "verify your identity (name, ID number and a code sent to your phone) "
        "before applying",
        "code": "identity_unverified",
        "extra": {"verify": "/api/v1/me/identity/"},
    }
    for url, data in [
        (reverse("apply-start"), None),
        (reverse("apply-step", args=["child"]), {"child_name": "陈小明", "child_id_number": CHILD}),
        (reverse("apply-step", args=["consent"]), {"given_by": "0", "agree": "on"}),
    ]:
        response = page.post(url, data) if data else page.get(url)
        html = response.content.decode()
        assert response.status_code == 403, url
        assert "请先完成实名认证" in html
        assert f'href="{reverse("identity-verify")}"' in html
    assert "application_draft" not in page.session
    assert stored_rows() == before


def test_naming_someone_else_is_refused_in_the_same_words_whether_or_not_the_child_applied(
    family, parent, stranger
):
    def names_the_mother_only():
        return tried(lambda: without_ref(submit(stranger, body(MOTHER))))

    before_anyone = names_the_mother_only()
    assert submit(parent, body(MOTHER)).status_code == 201
    after_the_family = names_the_mother_only()

    assert (
        before_anyone
        == after_the_family
        == (
            400,
            {
                "message": "guardians: name yourself as one of the guardians, with the ID number "
                "your account is verified with",
                "code": "applicant_not_guardian",
                "extra": {
                    "field": "guardians",
                    "errors": [
                        {
                            "field": "guardians",
                            "code": "applicant_not_guardian",
                            "message": "guardians: name yourself as one of the guardians, with the "
                            "ID number your account is verified with",
                        }
                    ],
                },
            },
        )
    )
    assert Application.objects.count() == 1


def test_a_stranger_learns_nothing_from_applying_for_a_child_the_family_applied_for(
    family, parent, stranger
):
    def stranger_applies():
        return tried(lambda: without_ref(submit(stranger, body(STRANGER, name="赵强"))))

    not_applied = stranger_applies()
    assert submit(parent, body(MOTHER)).status_code == 201
    applied = stranger_applies()

    assert not_applied == applied
    assert applied[0] == 201
    assert Application.objects.count() == 1


@pytest.mark.parametrize("stray_verified_first", [False, True])
def test_a_strangers_earlier_application_does_not_keep_the_guardian_out(
    family, parent, stranger, stray_verified_first
):
    stray = submit(stranger, body(STRANGER, name="赵强"))
    assert stray.status_code == 201
    if stray_verified_first:
        verify_all()

    family_application = submit(parent, body(MOTHER))

    assert family_application.status_code == 201
    verify_all()
    ours = Application.objects.get(ref=family_application.json()["ref"])
    theirs = Application.objects.get(ref=stray.json()["ref"])
    # The mother is related to the child and the stranger is not: the family's application is
    # decided as any other, the stranger's waits for an officer.
    assert (ours.state, theirs.state) == ("decided", "needs_review")
    assert list(ours.events.values_list("to_state", "reason_code", "reason_params")) == [
        ("submitted", "submitted", {}),
        ("verifying", "verification_started", {}),
        ("decided", "verified", {}),
    ]
    assert Decision.objects.get(application=ours, is_current=True).outcome == "eligible"
    assert Decision.objects.get(application=theirs, is_current=True).reasons == [
        "GUARDIANSHIP_NOT_VERIFIED"
    ]
    if not stray_verified_first:
        assert theirs.events.last().reason_params == {"others": [ours.ref]}
    assert list(Application.objects.filter(state="decided")) == [ours]


def test_a_stranger_after_the_family_leaves_the_familys_decided_application_alone(
    family, parent, stranger
):
    ours = Application.objects.get(ref=submit(parent, body(MOTHER)).json()["ref"])
    verify_all()
    ours.refresh_from_db()
    assert ours.state == "decided"

    stray = submit(stranger, body(STRANGER, name="赵强"))
    verify_all()

    ours.refresh_from_db()
    theirs = Application.objects.get(ref=stray.json()["ref"])
    assert (ours.state, theirs.state) == ("decided", "needs_review")
    assert not ours.events.filter(reason_code="competing_application").exists()
    assert theirs.events.last().reason_code == "competing_application"
    # What the stranger can read of their own application says nothing of the family's.
    detail = client_for(stranger).get(f"/api/v1/applications/{theirs.ref}/")
    text = detail.content.decode()
    assert detail.status_code == 200
    assert ours.ref not in text
    assert "competing" not in text.lower()
    page = Client()
    page.force_login(stranger)
    html = page.get(reverse("application-detail", args=[theirs.ref])).content.decode()
    assert ours.ref not in html
    assert "另有申请" not in html


def test_the_officer_decides_the_stray_application_and_the_familys_is_untouched(
    family, parent, stranger, officer
):
    ours = Application.objects.get(ref=submit(parent, body(MOTHER)).json()["ref"])
    theirs = Application.objects.get(
        ref=submit(stranger, body(STRANGER, name="赵强")).json()["ref"]
    )
    verify_all()

    decision_override(
        actor=officer, application=theirs, outcome="ineligible", reason=OFFICER_REASON
    )

    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert (ours.state, theirs.state) == ("decided", "decided")
    assert Decision.objects.get(application=ours, is_current=True).outcome == "eligible"
    assert Decision.objects.get(application=theirs, is_current=True).outcome == "ineligible"
    assert not ApplicationEvent.objects.filter(
        application=ours, reason_code="competing_application"
    ).exists()


def test_two_related_accounts_still_go_to_an_officer(family, parent):
    """The father applies from his own account as well: both are the child's guardians, and
    which application speaks for the child is an officer's to say."""
    from registry.models import HukouRecord
    from tests.registry.factories import HukouRecordFactory

    father_id = idnumber.make("440604", date(1985, 1, 1), 331)
    household = HukouRecord.objects.get(id_number=CHILD).household_no
    HukouRecordFactory(id_number=father_id, household_no=household)
    father = UserFactory(role=Role.PARENT, username="13700000008", identity=father_id)
    ours = Application.objects.get(ref=submit(parent, body(MOTHER)).json()["ref"])
    verify_all()

    his = Application.objects.get(ref=submit(father, body(father_id, name="陈大文")).json()["ref"])
    verify_all()

    ours.refresh_from_db()
    his.refresh_from_db()
    assert (ours.state, his.state) == ("needs_review", "needs_review")
    assert ours.events.last().reason_params == {"others": [his.ref]}
    assert his.events.last().reason_params == {"others": [ours.ref]}


def test_the_same_parent_again_is_told_it_is_a_duplicate(family, parent):
    assert submit(parent, body(MOTHER)).status_code == 201

    again = submit(parent, body(MOTHER))

    assert (again.status_code, again.json()["code"]) == (409, "duplicate_application")
    assert Application.objects.count() == 1
