import re
from datetime import date

import pytest
from django.db import IntegrityError

from enrollment.errors import ErrorCode, ValidationErrors
from enrollment.models import Application, ApplicationEvent, Consent, Guardian, VerificationJob
from enrollment.services import dispatch
from enrollment.services.applications import (
    ApplicationInput,
    PersonInput,
    application_submit,
    application_validate,
)
from registry import idnumber
from tests.conftest import HOME, YEAR

pytestmark = pytest.mark.django_db

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)


def _input(**overrides) -> ApplicationInput:
    values = {
        "admission_year": YEAR,
        "child": PersonInput(name="陈小明", id_number=CHILD),
        "guardians": [PersonInput(name="李美玲", id_number=MOTHER, relation="mother")],
        "home_community_code": HOME,
        "preferences": ["S440604001"],
        "consent_given_by": MOTHER,
    }
    values.update(overrides)
    return ApplicationInput(**values)


def _stored() -> tuple[int, int, int, int]:
    """Applications, consents, verification jobs and events stored."""
    return (
        Application.objects.count(),
        Consent.objects.count(),
        VerificationJob.objects.count(),
        ApplicationEvent.objects.count(),
    )


def _as_if_raced(monkeypatch) -> None:
    """The look for an earlier application finds none, as when two submissions of one child
    both look before either has stored: only the unique constraint is left to decide."""
    from enrollment.services import applications

    unchecked = applications._lookups_for

    def as_if_raced(items):
        lookups = unchecked(items)
        lookups.taken.clear()
        return lookups

    monkeypatch.setattr(applications, "_lookups_for", as_if_raced)


def _nothing_written():
    return _stored() == (0, 0, 0, 0)


def test_submit_writes_application_consent_event_and_outbox_job(district, parent):
    application = application_submit(data=_input(), actor=parent, enqueue=False)

    assert application.state == "submitted"
    assert application.child_birth_date == date(2020, 3, 15)
    assert application.consent.given_by_id_number == MOTHER
    assert application.consent.lookups == [
        "hukou",
        "property",
        "rental",
        "social_insurance",
        "residence_permit",
    ]
    assert list(application.guardians.values_list("relation", flat=True)) == ["mother"]
    assert VerificationJob.objects.get(application=application).status == "pending"


def test_child_born_outside_the_window_is_refused_and_nothing_stored(district, parent):
    too_young = idnumber.make("440604", date(2021, 9, 1), 123)

    with pytest.raises(ValidationErrors) as refused:
        application_submit(
            data=_input(child=PersonInput(name="小明", id_number=too_young)), actor=parent
        )

    assert refused.value.code == ErrorCode.AGE_OUT_OF_RANGE
    assert refused.value.field == "child.id_number"
    assert _nothing_written()


def test_bad_check_character_names_the_field_and_never_echoes_the_number(district, parent):
    bad = CHILD[:17] + ("0" if CHILD[17] != "0" else "1")

    with pytest.raises(ValidationErrors) as refused:
        application_submit(data=_input(child=PersonInput(name="小明", id_number=bad)), actor=parent)

    assert refused.value.field == "child.id_number"
    assert refused.value.message == "child.id_number: the check character does not match (GB 11643)"
    assert bad not in str(refused.value.as_dict())
    assert _nothing_written()


def test_guardian_who_is_the_child_and_unknown_school_are_both_reported(district, parent):
    with pytest.raises(ValidationErrors) as refused:
        application_submit(
            data=_input(
                guardians=[PersonInput(name="陈小明", id_number=CHILD, relation="father")],
                preferences=["S999999999"],
                consent_given_by=CHILD,
            ),
            actor=parent,
        )

    fields = [error["field"] for error in refused.value.extra["errors"]]
    # ... and that the parent applying did not name themselves
    assert fields == ["guardians[0].id_number", "guardians", "preferences[0]"]
    assert _nothing_written()


def test_second_application_for_the_same_child_and_year_is_refused(district, parent):
    application_submit(data=_input(), actor=parent, enqueue=False)

    with pytest.raises(ValidationErrors) as refused:
        application_submit(data=_input(), actor=parent, enqueue=False)

    assert refused.value.code == ErrorCode.DUPLICATE_APPLICATION
    assert Application.objects.count() == 1
    assert VerificationJob.objects.count() == 1


def test_a_duplicate_that_raced_past_the_check_is_refused_by_the_constraint(
    district, parent, monkeypatch
):
    """Two submissions for one child at once both find no application in the check; the
    unique constraint refuses the second, and the caller's transaction stays usable."""
    application_submit(data=_input(), actor=parent, enqueue=False)
    _as_if_raced(monkeypatch)

    with pytest.raises(ValidationErrors) as refused:
        application_submit(data=_input(home_address="另一个地址"), actor=parent, enqueue=False)

    assert refused.value.code == ErrorCode.DUPLICATE_APPLICATION
    assert refused.value.errors[0].field == "child.id_number"
    # The test's own transaction still takes queries: only the submission was rolled back.
    assert _stored() == (1, 1, 1, 1)
    assert Application.objects.get().home_address == ""


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_submission_is_one_check_and_one_statement(
    district, parent, django_assert_num_queries, monkeypatch
):
    """The look for an earlier application, then the application with its guardians,
    preference, consent, event, messages and job in one statement: no BEGIN, no COMMIT. (The
    first submission reads the community, policy and school into this process's cache; the
    messages are sent by a worker, which tasks run in-process would count here.)"""
    monkeypatch.setattr(dispatch, "_notifications_signal", lambda count: None)
    sibling = idnumber.make("440604", date(2020, 5, 5), 8)
    application_submit(
        data=_input(child=PersonInput(name="陈小红", id_number=sibling)),
        actor=parent,
        enqueue=False,
    )

    with django_assert_num_queries(2):
        application = application_submit(data=_input(), actor=parent, enqueue=False)

    stored = Application.objects.get(child_id_number=CHILD)
    assert stored.pk == application.pk
    assert (stored.ref, stored.child_id_number, stored.state) == (
        application.ref,
        CHILD,
        "submitted",
    )
    assert list(stored.guardians.values_list("position", "id_number", "relation")) == [
        (1, MOTHER, "mother")
    ]
    assert list(stored.preferences.values_list("rank", "school__code")) == [(1, "S440604001")]
    assert stored.consent.reference.startswith(f"C-{application.ref}-")
    assert list(stored.events.values_list("from_state", "to_state", "reason_code")) == [
        ("", "submitted", "submitted")
    ]
    job = VerificationJob.objects.get(application_id=application.pk)
    assert (job.status, job.enqueued_at) == ("pending", None)
    assert job.created_at is not None


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_raced_duplicate_writes_nothing_and_leaves_the_connection_usable(
    district, parent, monkeypatch
):
    first = application_submit(data=_input(), actor=parent, enqueue=False)
    _as_if_raced(monkeypatch)

    with pytest.raises(ValidationErrors) as refused:
        application_submit(data=_input(home_address="另一个地址"), actor=parent)

    assert refused.value.code == ErrorCode.DUPLICATE_APPLICATION
    assert _stored() == (1, 1, 1, 1)
    assert Application.objects.get().pk == first.pk
    assert Guardian.objects.count() == 1


def test_the_one_statement_stores_what_the_orm_stores(district, parent, monkeypatch):
    """The same submission through the one statement (PostgreSQL) and through the ORM (the
    path elsewhere) gives the same rows, ids, the ref and the times they were stored aside."""
    from django.db import connection

    second_child = idnumber.make("440604", date(2020, 5, 5), 8)

    def rows(application):
        application.refresh_from_db()
        return {
            "application": _values(application, skip={"ref", "submitted_at", "updated_at"}),
            "guardians": [_values(g) for g in application.guardians.all()],
            "preferences": [_values(p) for p in application.preferences.all()],
            "consent": _values(application.consent, skip={"reference", "given_at"}),
            "events": [_values(e, skip={"at"}) for e in application.events.all()],
            "jobs": [
                _values(j, skip={"created_at", "enqueued_at"})
                for j in application.verification_jobs.all()
            ],
        }

    one_statement = application_submit(data=_input(), actor=parent, enqueue=False)
    with monkeypatch.context() as patched:
        patched.setattr(connection, "vendor", "elsewhere")
        through_the_orm = application_submit(
            data=_input(child=PersonInput(name="陈小明", id_number=second_child)),
            actor=parent,
            enqueue=False,
        )

    expected = rows(one_statement)
    expected["application"]["child_id_number"] = second_child
    expected["application"]["child_birth_date"] = date(2020, 5, 5)
    assert rows(through_the_orm) == expected
    assert expected["application"]["applicant_id"] == parent.pk
    assert expected["consent"]["lookups"] == [
        "hukou",
        "property",
        "rental",
        "social_insurance",
        "residence_permit",
    ]


def _values(obj, skip=frozenset()) -> dict:
    """A row's stored values but its own id and the application it belongs to."""
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if not f.primary_key and f.name not in skip and f.name != "application"
    }


def test_another_broken_constraint_is_not_reported_as_a_second_application(district, parent):
    first = application_submit(data=_input(), actor=parent, enqueue=False)
    other_child = idnumber.make("440604", date(2020, 5, 5), 8)

    with pytest.raises(IntegrityError) as broken:
        application_submit(
            data=_input(ref=first.ref, child=PersonInput(name="陈小红", id_number=other_child)),
            actor=parent,
            enqueue=False,
        )

    # PostgreSQL names the constraint (enrollment_application_ref_key), SQLite the column.
    assert re.search(r"enrollment_application(_ref_key|\.ref\b)", str(broken.value))
    assert _stored() == (1, 1, 1, 1)


def test_validation_alone_reports_an_earlier_application_with_the_other_errors(district, parent):
    application_submit(data=_input(), actor=parent, enqueue=False)

    with pytest.raises(ValidationErrors) as refused:
        application_validate(data=_input(preferences=["S440604999"]), applicant=parent)

    assert [(e.code, e.field) for e in refused.value.errors] == [
        (ErrorCode.UNKNOWN_SCHOOL, "preferences[0]"),
        (ErrorCode.DUPLICATE_APPLICATION, "child.id_number"),
    ]


def test_verification_is_enqueued_only_after_commit(
    district, parent, monkeypatch, django_capture_on_commit_callbacks
):
    from enrollment import tasks

    sent = []
    monkeypatch.setattr(tasks.verify_batch, "delay", lambda ids: sent.append(ids))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        application = application_submit(data=_input(), actor=parent)
        # inside the transaction nothing has gone to the broker yet
        assert sent == []
    for callback in callbacks:
        callback()

    job = VerificationJob.objects.get(application=application)
    assert sent == [[job.pk]]
    assert job.enqueued_at is not None


def test_with_enqueue_on_submit_off_the_reconciler_sends_new_jobs_in_batches(
    district, parent, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from enrollment import tasks
    from enrollment.services.verification import verification_reconcile

    settings.VERIFICATION_ENQUEUE_ON_SUBMIT = False
    sent = []
    monkeypatch.setattr(tasks.verify_batch, "delay", lambda ids: sent.append(ids))

    with django_capture_on_commit_callbacks(execute=True):
        application = application_submit(data=_input(), actor=parent)

    job = VerificationJob.objects.get(application=application)
    assert sent == []
    assert job.enqueued_at is None
    assert verification_reconcile() == [job.pk]
