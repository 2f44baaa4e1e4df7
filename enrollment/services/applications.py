"""Submitting applications and moving them through their states."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from enrollment.errors import ApplicationError, ErrorCode, ValidationErrors
from enrollment.models import (
    Application,
    ApplicationEvent,
    ApplicationState,
    Community,
    Consent,
    Guardian,
    School,
    SchoolPreference,
    User,
    VerificationJob,
)
from enrollment.services.policies import as_policy, policy_active
from enrollment.states import can_transition
from registry import idnumber

MAX_PREFERENCES = 5


@dataclass(frozen=True)
class PersonInput:
    name: str
    id_number: str
    relation: str = ""


@dataclass(frozen=True)
class ApplicationInput:
    admission_year: int
    child: PersonInput
    guardians: Sequence[PersonInput]
    home_community_code: str
    preferences: Sequence[str]
    consent_given_by: str
    consent_given_at: datetime | None = None
    home_address: str = ""
    grade: str = "primary1"
    ref: str = ""
    consent_lookups: Sequence[str] = field(default_factory=lambda: list(Consent.Lookup.values))


def _new_ref() -> str:
    return "A" + uuid.uuid4().hex[:11].upper()


def _check_id(value: str, field_name: str, errors: list) -> str | None:
    try:
        return idnumber.validate(value)
    except idnumber.InvalidIdNumber as error:
        errors.append(
            ApplicationError(
                ErrorCode.ID_NUMBER_INVALID, f"{field_name}: {error}", field=field_name
            )
        )
        return None


def application_validate(*, data: ApplicationInput) -> tuple[dict, list[School]]:
    """Check everything before anything is stored; raise ValidationErrors naming each field."""
    errors: list[ApplicationError] = []
    cleaned: dict = {}

    if not data.child.name.strip():
        errors.append(
            ApplicationError(
                ErrorCode.INVALID, "child.name: the child's name is required", field="child.name"
            )
        )
    child_id = _check_id(data.child.id_number, "child.id_number", errors)
    cleaned["child_id_number"] = child_id

    community = Community.objects.filter(code=(data.home_community_code or "").strip()).first()
    if community is None:
        errors.append(
            ApplicationError(
                ErrorCode.UNKNOWN_COMMUNITY,
                "home_community_code: not a community of the district",
                field="home_community_code",
            )
        )
    cleaned["community"] = community

    policy = None
    if community is not None:
        try:
            policy = policy_active(
                district_code=community.district_code,
                admission_year=data.admission_year,
                grade=data.grade,
            )
        except ApplicationError as error:
            errors.append(error)
    cleaned["policy"] = policy
    if child_id and policy is not None:
        birth = idnumber.birth_date_of(child_id)
        rules = as_policy(policy)
        if not rules.age_ok(birth):
            errors.append(
                ApplicationError(
                    ErrorCode.AGE_OUT_OF_RANGE,
                    f"child.id_number: the child must be born between {rules.born_from} and "
                    f"{rules.born_to} to start primary school in {data.admission_year}",
                    field="child.id_number",
                )
            )

    guardians = list(data.guardians)
    if not 1 <= len(guardians) <= 2:
        errors.append(
            ApplicationError(
                ErrorCode.INVALID, "guardians: one or two guardians are required", field="guardians"
            )
        )
    guardian_ids = []
    for index, guardian in enumerate(guardians[:2]):
        prefix = f"guardians[{index}]"
        if not guardian.name.strip():
            errors.append(
                ApplicationError(
                    ErrorCode.INVALID,
                    f"{prefix}.name: the guardian's name is required",
                    field=f"{prefix}.name",
                )
            )
        if guardian.relation not in Guardian.Relation.values:
            errors.append(
                ApplicationError(
                    ErrorCode.INVALID,
                    f"{prefix}.relation: must be one of {', '.join(Guardian.Relation.values)}",
                    field=f"{prefix}.relation",
                )
            )
        gid = _check_id(guardian.id_number, f"{prefix}.id_number", errors)
        if gid and gid == child_id:
            errors.append(
                ApplicationError(
                    ErrorCode.GUARDIAN_IS_CHILD,
                    f"{prefix}.id_number: a guardian cannot be the child",
                    field=f"{prefix}.id_number",
                )
            )
        elif gid and gid in guardian_ids:
            errors.append(
                ApplicationError(
                    ErrorCode.GUARDIANS_REPEATED,
                    f"{prefix}.id_number: the same person is named twice",
                    field=f"{prefix}.id_number",
                )
            )
        guardian_ids.append(gid)
    cleaned["guardian_ids"] = guardian_ids

    codes = [code.strip() for code in data.preferences]
    schools: list[School] = []
    if not 1 <= len(codes) <= MAX_PREFERENCES:
        errors.append(
            ApplicationError(
                ErrorCode.INVALID,
                f"preferences: list one to {MAX_PREFERENCES} schools",
                field="preferences",
            )
        )
    by_code = {
        school.code: school
        for school in School.objects.filter(code__in=codes, admission_year=data.admission_year)
    }
    for index, code in enumerate(codes):
        if code in codes[:index]:
            errors.append(
                ApplicationError(
                    ErrorCode.INVALID,
                    f"preferences[{index}]: school {code} is listed twice",
                    field=f"preferences[{index}]",
                )
            )
        elif code not in by_code:
            errors.append(
                ApplicationError(
                    ErrorCode.UNKNOWN_SCHOOL,
                    f"preferences[{index}]: no school {code} admits in {data.admission_year}",
                    field=f"preferences[{index}]",
                )
            )
        else:
            schools.append(by_code[code])

    consent_by = idnumber.normalise(data.consent_given_by)
    if not consent_by or consent_by not in [g for g in guardian_ids if g]:
        errors.append(
            ApplicationError(
                ErrorCode.CONSENT_MISSING,
                "consent.given_by: consent must be given by one of the guardians",
                field="consent.given_by",
            )
        )
    unknown = set(data.consent_lookups) - set(Consent.Lookup.values)
    if unknown or not data.consent_lookups:
        errors.append(
            ApplicationError(
                ErrorCode.CONSENT_MISSING,
                "consent.lookups: name the lookups consented to",
                field="consent.lookups",
            )
        )

    if (
        child_id
        and Application.objects.filter(
            child_id_number=child_id, admission_year=data.admission_year
        ).exists()
    ):
        errors.append(_duplicate_error(data.admission_year))

    if errors:
        raise ValidationErrors(errors)
    return cleaned, schools


def _duplicate_error(year: int) -> ApplicationError:
    return ApplicationError(
        ErrorCode.DUPLICATE_APPLICATION,
        f"child.id_number: this child already has an application for {year}",
        field="child.id_number",
    )


@transaction.atomic
def application_submit(
    *,
    data: ApplicationInput,
    acting_user: User | None,
    channel: str = Application.Channel.ONLINE,
    enqueue: bool = True,
) -> Application:
    """Store an application with its consent and its verification job, in one transaction.

    The job is the outbox: it is enqueued only after the transaction commits, and the
    reconciler finds it again if the message is lost.
    """
    cleaned, schools = application_validate(data=data)
    now = timezone.now()
    community = cleaned["community"]
    try:
        with transaction.atomic():
            application = Application.objects.create(
                ref=data.ref or _new_ref(),
                admission_year=data.admission_year,
                grade=data.grade,
                district_code=community.district_code,
                channel=channel,
                applicant=acting_user if acting_user and acting_user.is_parent else None,
                child_name=data.child.name.strip(),
                child_id_number=cleaned["child_id_number"],
                child_birth_date=idnumber.birth_date_of(cleaned["child_id_number"]),
                home_community_code=community.code,
                home_address=data.home_address.strip(),
                state=ApplicationState.SUBMITTED,
                submitted_at=now,
            )
    except IntegrityError:
        # Two submissions for one child raced past the check above; the constraint decided.
        raise ValidationErrors([_duplicate_error(data.admission_year)]) from None
    Guardian.objects.bulk_create(
        Guardian(
            application=application,
            position=index + 1,
            name=guardian.name.strip(),
            id_number=guardian_id,
            relation=guardian.relation,
        )
        for index, (guardian, guardian_id) in enumerate(
            zip(data.guardians, cleaned["guardian_ids"], strict=True)
        )
    )
    SchoolPreference.objects.bulk_create(
        SchoolPreference(application=application, rank=rank, school=school)
        for rank, school in enumerate(schools, start=1)
    )
    Consent.objects.create(
        application=application,
        reference=f"C-{application.ref}-{uuid.uuid4().hex[:8]}",
        given_by_id_number=idnumber.normalise(data.consent_given_by),
        given_by_user=acting_user if acting_user and acting_user.is_parent else None,
        given_at=data.consent_given_at or now,
        lookups=list(data.consent_lookups),
    )
    ApplicationEvent.objects.create(
        application=application,
        from_state="",
        to_state=ApplicationState.SUBMITTED,
        actor=acting_user,
        actor_label="" if acting_user else channel,
        reason="submitted",
        at=now,
    )
    job = VerificationJob.objects.create(
        application=application, enqueued_at=now if enqueue else None
    )
    if enqueue:
        from enrollment.tasks import verify_batch

        job_id = job.pk
        transaction.on_commit(lambda: verify_batch.delay([job_id]))
    return application


@transaction.atomic
def application_withdraw(*, application: Application, actor: User, reason: str) -> Application:
    """The parent (or an officer of the district) withdraws an application; open verification
    jobs are closed so that no decision follows."""
    from enrollment.services.audit import audit_log

    application = Application.objects.select_for_update().get(pk=application.pk)
    own = actor.is_parent and application.applicant_id == actor.pk
    officer = actor.is_officer and actor.district_code == application.district_code
    if not (own or officer):
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such application.", field="ref")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(ErrorCode.REASON_REQUIRED, "reason: say why", field="reason")
    application_transition(
        application=application,
        to_state=ApplicationState.WITHDRAWN,
        actor=actor,
        reason=reason,
    )
    application.verification_jobs.filter(
        status__in=[
            VerificationJob.Status.PENDING,
            VerificationJob.Status.RUNNING,
            VerificationJob.Status.WAITING_REGISTRY,
        ]
    ).update(status=VerificationJob.Status.DONE, finished_at=timezone.now(), last_error="withdrawn")
    audit_log(actor=actor, action="application_withdraw", target=application, reason=reason)
    return application


def application_transition(
    *,
    application: Application,
    to_state: str,
    actor: User | None = None,
    actor_label: str = "",
    reason: str = "",
) -> Application:
    """Move one application to another state, or refuse an illegal change."""
    if not can_transition(application.state, to_state):
        raise ApplicationError(
            ErrorCode.ILLEGAL_TRANSITION,
            f"An application cannot go from {application.state} to {to_state}.",
            field="state",
        )
    now = timezone.now()
    ApplicationEvent.objects.create(
        application=application,
        from_state=application.state,
        to_state=to_state,
        actor=actor,
        actor_label=actor_label,
        reason=reason,
        at=now,
    )
    application.state = to_state
    fields = ["state", "updated_at"]
    if to_state == ApplicationState.DECIDED:
        application.decided_at = now
        fields.append("decided_at")
    application.save(update_fields=fields)
    return application
