"""The application state machine: every legal move recorded with actor and reason, every
illegal one refused with nothing written."""

import pytest

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import ApplicationEvent, ApplicationState, AuditLog, Role, VerificationJob
from enrollment.services.applications import application_transition, application_withdraw
from enrollment.states import TRANSITIONS, can_transition, next_states
from tests.enrollment.factories import UserFactory
from tests.enrollment.pipeline_support import child_id, guardian_id, submit

pytestmark = pytest.mark.django_db

S = ApplicationState
ALL = list(S.values)
LEGAL = [(a, b) for a in ALL for b in ALL if b in TRANSITIONS[a]]
ILLEGAL = [(a, b) for a in ALL for b in ALL if b not in TRANSITIONS[a]]


def test_every_state_is_in_the_machine_and_withdrawn_is_final():
    assert set(TRANSITIONS) == set(ALL)
    assert next_states(S.WITHDRAWN) == frozenset()
    assert can_transition(S.SUBMITTED, S.DECIDED) is False
    assert len(LEGAL) == 16


@pytest.mark.parametrize(("from_state", "to_state"), LEGAL)
def test_legal_transition_is_recorded_with_actor_and_reason(district, from_state, to_state):
    officer = UserFactory(officer=True)
    application = submit(child=child_id(1), guardians=[guardian_id(1)])
    application.state = from_state
    application.save(update_fields=["state"])

    application_transition(
        application=application, to_state=to_state, actor=officer, reason="checked the file"
    )

    application.refresh_from_db()
    assert application.state == to_state
    event = ApplicationEvent.objects.filter(application=application).last()
    assert (event.from_state, event.to_state, event.actor, event.reason) == (
        from_state,
        to_state,
        officer,
        "checked the file",
    )
    assert (application.decided_at is not None) == (to_state == S.DECIDED)


@pytest.mark.parametrize(("from_state", "to_state"), ILLEGAL)
def test_illegal_transition_is_refused_and_nothing_written(district, from_state, to_state):
    application = submit(child=child_id(1), guardians=[guardian_id(1)])
    application.state = from_state
    application.save(update_fields=["state"])
    events_before = ApplicationEvent.objects.count()

    with pytest.raises(ApplicationError) as refused:
        application_transition(application=application, to_state=to_state, reason="try")

    assert refused.value.code == ErrorCode.ILLEGAL_TRANSITION
    application.refresh_from_db()
    assert application.state == from_state
    assert ApplicationEvent.objects.count() == events_before


def test_parent_withdraws_own_application_closing_its_job(district):
    parent = UserFactory(role=Role.PARENT, identity=guardian_id(1))
    application = submit(child=child_id(1), guardians=[guardian_id(1)], user=parent)

    application_withdraw(application=application, actor=parent, reason="moved to Shenzhen")

    application.refresh_from_db()
    assert application.state == S.WITHDRAWN
    job = VerificationJob.objects.get(application=application)
    assert (job.status, job.last_error) == ("done", "withdrawn")
    log = AuditLog.objects.get(action="application.withdraw")
    assert (log.actor, log.reason, log.data) == (
        parent,
        "moved to Shenzhen",
        {"old": {"state": "submitted"}, "new": {"state": "withdrawn"}},
    )
    event = application.events.last()
    assert (event.actor, event.reason_code, event.reason) == (
        parent,
        "withdrawn",
        "moved to Shenzhen",
    )


def test_someone_elses_parent_cannot_withdraw(district):
    owner = UserFactory(role=Role.PARENT, identity=guardian_id(1))
    stranger = UserFactory(role=Role.PARENT, identity=guardian_id(2))
    application = submit(child=child_id(1), guardians=[guardian_id(1)], user=owner)

    with pytest.raises(ApplicationError) as refused:
        application_withdraw(application=application, actor=stranger, reason="no")

    assert refused.value.code == ErrorCode.NOT_FOUND
    application.refresh_from_db()
    assert application.state == S.SUBMITTED
    assert ApplicationEvent.objects.filter(application=application).count() == 1
    # only the two parents' identities, bound before
    assert AuditLog.objects.exclude(action="identity.verify").count() == 0
