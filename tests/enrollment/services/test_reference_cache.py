"""The per-process cache of communities, schools and active policies read by every submission."""

from datetime import date

import pytest

from enrollment.errors import ErrorCode, ValidationErrors
from enrollment.models import Application, Community, School
from enrollment.policy import default_policy_document
from enrollment.services import reference
from enrollment.services.applications import ApplicationInput, PersonInput, application_submit
from enrollment.services.policies import policy_install
from registry import idnumber
from tests.conftest import YEAR
from tests.enrollment.services.test_submit import _input as submitted_input

pytestmark = pytest.mark.django_db


def _input(child_birth: date, sequence: int) -> ApplicationInput:
    """test_submit's application, for a child of its own."""
    child = PersonInput(name="陈小明", id_number=idnumber.make("440604", child_birth, sequence))
    return submitted_input(child=child)


def test_a_second_submission_reads_no_reference_row_from_the_database(
    district, parent, django_assert_num_queries
):
    application_submit(data=_input(date(2020, 3, 15), 1), actor=parent, enqueue=False)

    # Inside the test's transaction: a savepoint, the child's earlier applications, the one
    # statement storing the six rows, the savepoint's release. No community, school or policy.
    with django_assert_num_queries(4):
        application_submit(data=_input(date(2020, 3, 16), 2), actor=parent, enqueue=False)

    assert Application.objects.count() == 2


def test_a_policy_activated_in_this_process_applies_to_the_next_submission(district, parent):
    application_submit(data=_input(date(2020, 3, 15), 1), actor=parent, enqueue=False)
    narrower = default_policy_document(district_code="440604", admission_year=YEAR)
    narrower["version"] = f"{narrower['version']}-narrow"
    narrower["age_window"] = {"born_from": "2020-09-01", "born_to": "2021-08-31"}
    policy_install(document=narrower, activate=True)

    with pytest.raises(ValidationErrors) as refused:
        application_submit(data=_input(date(2020, 3, 16), 2), actor=parent, enqueue=False)

    assert refused.value.code == ErrorCode.AGE_OUT_OF_RANGE
    assert Application.objects.count() == 1


def test_a_change_made_elsewhere_is_seen_once_the_cached_row_expires(
    district, parent, settings, monkeypatch
):
    """Another process's change sends no signal here: the row read earlier serves until it
    expires, then the new one is read."""
    application_submit(data=_input(date(2020, 3, 15), 1), actor=parent, enqueue=False)
    # What another process's edit looks like from this one: no signal.
    School.objects.filter(code="S440604001").update(admission_year=YEAR + 1)

    application_submit(data=_input(date(2020, 3, 16), 2), actor=parent, enqueue=False)
    assert Application.objects.count() == 2

    later = reference.time.monotonic() + settings.REFERENCE_CACHE_SECONDS + 1
    monkeypatch.setattr(reference.time, "monotonic", lambda: later)
    with pytest.raises(ValidationErrors) as refused:
        application_submit(data=_input(date(2020, 3, 17), 3), actor=parent, enqueue=False)

    assert refused.value.code == ErrorCode.UNKNOWN_SCHOOL
    assert Application.objects.count() == 2


def test_a_saved_row_clears_the_cache_at_once_and_again_at_commit(
    district, django_capture_on_commit_callbacks
):
    reference.schools.get_many({("S440604001", YEAR)})
    school = School.objects.get(code="S440604001")

    with django_capture_on_commit_callbacks() as callbacks:
        school.name = "禅城区示范小学"
        school.save(update_fields=["name"])
        assert reference.schools._rows == {}
        reference.schools.get_many({("S440604001", YEAR)})

    assert callbacks == [reference.reference_cache_clear]
    callbacks[0]()
    assert reference.schools._rows == {}


def test_a_missing_row_is_not_kept(district):
    assert reference.communities.get_many({"440604999999"}) == {}
    # Created without a signal, as another process would: found at once all the same.
    Community.objects.bulk_create(
        [Community(code="440604999999", district_code="440604", name="新社区")]
    )

    found = reference.communities.get_many({"440604999999"})

    assert [community.name for community in found.values()] == ["新社区"]
