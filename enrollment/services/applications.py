"""Submitting applications and moving them through their states."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from enrollment.db import copy_insert, submission_store
from enrollment.errors import ApplicationError, ErrorCode, ValidationErrors
from enrollment.models import (
    Application,
    ApplicationEvent,
    ApplicationState,
    AuditAction,
    Community,
    Consent,
    EventReason,
    Guardian,
    School,
    SchoolPreference,
    User,
    VerificationJob,
)
from enrollment.policy import Policy
from enrollment.services import dispatch, notifications, reference
from enrollment.services.identity import applicant_not_guardian, identity_required_to_apply
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


@dataclass
class _Lookups:
    """What validation needs from the database, read once for a whole batch."""

    communities: dict[str, Community]
    # the active policy's rules by (district, admission year, grade)
    policies: dict[tuple[str, int, str], Policy]
    schools: dict[tuple[str, int], School]
    # (child ID number, admission year, applying account or None) already applied for
    taken: set[tuple[str, int, int | None]]


def _lookups_for(items: Sequence[ApplicationInput]) -> _Lookups:
    """The reference rows from this process's cache, and one query for earlier applications.

    The unique constraint alone would refuse a second application too, but a refused INSERT
    puts the statement, the child's ID number with it, into PostgreSQL's own log; a phone
    sending a submission again is common, a race past this query is not.
    """
    communities = reference.communities.get_many(
        {(item.home_community_code or "").strip() for item in items}
    )
    policies = reference.policies.get_many(
        {
            (community.district_code, item.admission_year, item.grade)
            for item in items
            if (community := communities.get((item.home_community_code or "").strip()))
        }
    )
    schools = reference.schools.get_many(
        {(code.strip(), item.admission_year) for item in items for code in item.preferences}
    )
    children = {idnumber.normalise(item.child.id_number) for item in items}
    taken = set(
        Application.objects.filter(
            child_id_number__in=children,
            admission_year__in={item.admission_year for item in items},
        ).values_list("child_id_number", "admission_year", "applicant_id")
    )
    return _Lookups(communities=communities, policies=policies, schools=schools, taken=taken)


def application_validate(
    *, data: ApplicationInput, applicant: User | None = None
) -> tuple[dict, list[School]]:
    """Check everything before anything is stored; raise ValidationErrors naming each field."""
    identity_required_to_apply(applicant)
    return _validate(data, _lookups_for([data]), applicant)


def _validate(
    data: ApplicationInput, lookups: _Lookups, applicant: User | None = None
) -> tuple[dict, list[School]]:
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

    community = lookups.communities.get((data.home_community_code or "").strip())
    if community is None:
        errors.append(
            ApplicationError(
                ErrorCode.UNKNOWN_COMMUNITY,
                "home_community_code: not a community of the district",
                field="home_community_code",
            )
        )
    cleaned["community"] = community

    rules = None
    if community is not None:
        rules = lookups.policies.get((community.district_code, data.admission_year, data.grade))
        if rules is None:
            errors.append(
                ApplicationError(
                    ErrorCode.NO_POLICY,
                    f"No points policy is active for district {community.district_code}, "
                    f"year {data.admission_year}: install one with `manage.py install_policy "
                    f"--year {data.admission_year} --district {community.district_code}`.",
                    field="admission_year",
                )
            )
    if child_id and rules is not None:
        birth = idnumber.birth_date_of(child_id)
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
    # The applying parent names themselves; refused without a word about the child.
    if applicant is not None and applicant.verified_id_number not in guardian_ids:
        errors.append(applicant_not_guardian())

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
        code: lookups.schools[(code, data.admission_year)]
        for code in codes
        if (code, data.admission_year) in lookups.schools
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

    # Told only to the same applicant (a named guardian) or the counter; another account's
    # application is taken, and verification sends both to an officer (services/competition).
    applicant_id = applicant.pk if applicant is not None else None
    if child_id and (child_id, data.admission_year, applicant_id) in lookups.taken:
        errors.append(_duplicate_error(data.admission_year))

    if errors:
        raise ValidationErrors(errors)
    return cleaned, schools


_ONE_APPLICATION = {
    "one_application_per_child_year_applicant",
    "one_counter_application_per_child_year",
}


def _is_second_application(error: IntegrityError) -> bool:
    """Whether the insert broke the one-application-per-child, year and applicant rule."""
    diag = getattr(error.__cause__, "diag", None)
    if diag is not None:  # PostgreSQL names the constraint
        return diag.constraint_name in _ONE_APPLICATION
    # SQLite names the columns
    return "enrollment_application.child_id_number" in str(error)


def _duplicate_error(year: int) -> ApplicationError:
    return ApplicationError(
        ErrorCode.DUPLICATE_APPLICATION,
        f"child.id_number: this child already has an application for {year}",
        field="child.id_number",
    )


def application_submit(
    *,
    data: ApplicationInput,
    actor: User | None,
    channel: str = Application.Channel.ONLINE,
    enqueue: bool = True,
) -> Application:
    """Store an application with its consent and its verification job, all or nothing.

    The job is the outbox: it is enqueued only after the rows are committed, and the
    reconciler finds it again if the message is lost.
    """
    parent = actor if actor and actor.is_parent else None
    cleaned, schools = application_validate(data=data, applicant=parent)
    # Without a message of its own the job waits for the reconciler, which batches (opening day).
    enqueue = enqueue and settings.VERIFICATION_ENQUEUE_ON_SUBMIT
    now = timezone.now()
    community = cleaned["community"]
    application = Application(
        ref=data.ref or _new_ref(),
        admission_year=data.admission_year,
        grade=data.grade,
        district_code=community.district_code,
        channel=channel,
        applicant=parent,
        child_name=data.child.name.strip(),
        child_id_number=cleaned["child_id_number"],
        child_birth_date=idnumber.birth_date_of(cleaned["child_id_number"]),
        home_community_code=community.code,
        home_address=data.home_address.strip(),
        state=ApplicationState.SUBMITTED,
        submitted_at=now,
    )
    dependents = [
        *(
            Guardian(
                position=position,
                name=guardian.name.strip(),
                id_number=guardian_id,
                relation=guardian.relation,
            )
            for position, (guardian, guardian_id) in enumerate(
                zip(data.guardians, cleaned["guardian_ids"], strict=True), start=1
            )
        ),
        *(SchoolPreference(rank=rank, school=school) for rank, school in enumerate(schools, 1)),
        Consent(
            reference=f"C-{application.ref}-{uuid.uuid4().hex[:8]}",
            given_by_id_number=idnumber.normalise(data.consent_given_by),
            given_by_user=parent,
            given_at=data.consent_given_at or now,
            lookups=list(data.consent_lookups),
        ),
        _submitted_event(actor=actor, channel=channel, at=now),
        *notifications.application_received_rows(
            application=application, recipient=parent, now=now
        ),
    ]
    job = VerificationJob(enqueued_at=now if enqueue else None)
    try:
        submission_store(application, dependents, job)
    except IntegrityError as error:
        # Two submissions for one child raced past the check above; the constraint decided.
        if not _is_second_application(error):
            raise
        raise ValidationErrors([_duplicate_error(data.admission_year)]) from None
    notifications.application_received_signal(recipient=parent)
    if enqueue:
        dispatch.verification_signal_on_commit(job_id=job.pk)
    return application


def _submitted_event(*, actor, channel: str, at, application=None) -> ApplicationEvent:
    """Every application's first event: submitted, by the parent or else by the channel."""
    return ApplicationEvent(
        application=application,
        from_state="",
        to_state=ApplicationState.SUBMITTED,
        actor=actor,
        actor_label="" if actor else channel,
        reason_code=EventReason.SUBMITTED,
        at=at,
    )


@dataclass(frozen=True)
class SubmitManyResult:
    created: list[Application]
    # refs already stored (or repeated in the batch): nothing about them changed
    existing: list[str]
    # position in the batch -> why that item was refused
    rejected: dict[int, ValidationErrors]
    job_ids: list[int]


@transaction.atomic
def application_submit_many(
    *,
    items: Sequence[ApplicationInput],
    actor: User | None = None,
    channel: str = Application.Channel.ASSISTED,
    enqueue: bool = True,
) -> SubmitManyResult:
    """Submit a batch with a fixed number of queries (the assisted channel's files, bulk loads).

    Each item is checked exactly as `application_submit` checks one; refused items are
    reported by position and skipped, the rest are stored together with their consent, event
    and verification job in this one transaction. An item whose `ref` is already stored
    changes nothing. With `enqueue`, the jobs are enqueued in batches after commit.
    """
    parent = actor if actor and actor.is_parent else None
    identity_required_to_apply(parent)
    refs = [item.ref for item in items if item.ref]
    known_refs = set(Application.objects.filter(ref__in=refs).values_list("ref", flat=True))
    lookups = _lookups_for(items)
    existing: list[str] = []
    rejected: dict[int, ValidationErrors] = {}
    accepted = []
    for index, item in enumerate(items):
        if item.ref and item.ref in known_refs:
            existing.append(item.ref)
            continue
        try:
            cleaned, schools = _validate(item, lookups, parent)
        except ValidationErrors as errors:
            rejected[index] = errors
            continue
        lookups.taken.add(
            (cleaned["child_id_number"], item.admission_year, parent.pk if parent else None)
        )
        if item.ref:
            known_refs.add(item.ref)
        accepted.append((item, cleaned, schools))
    if not accepted:
        return SubmitManyResult([], existing, rejected, [])

    now = timezone.now()
    applications = Application.objects.bulk_create(
        Application(
            ref=item.ref or _new_ref(),
            admission_year=item.admission_year,
            grade=item.grade,
            district_code=cleaned["community"].district_code,
            channel=channel,
            applicant=parent,
            child_name=item.child.name.strip(),
            child_id_number=cleaned["child_id_number"],
            child_birth_date=idnumber.birth_date_of(cleaned["child_id_number"]),
            home_community_code=cleaned["community"].code,
            home_address=item.home_address.strip(),
            state=ApplicationState.SUBMITTED,
            submitted_at=now,
        )
        for item, cleaned, _ in accepted
    )
    copy_insert(
        Guardian,
        [
            Guardian(
                application=application,
                position=position,
                name=guardian.name.strip(),
                id_number=guardian_id,
                relation=guardian.relation,
            )
            for application, (item, cleaned, _) in zip(applications, accepted, strict=True)
            for position, (guardian, guardian_id) in enumerate(
                zip(item.guardians, cleaned["guardian_ids"], strict=True), start=1
            )
        ],
    )
    copy_insert(
        SchoolPreference,
        [
            SchoolPreference(application=application, rank=rank, school=school)
            for application, (_, _, schools) in zip(applications, accepted, strict=True)
            for rank, school in enumerate(schools, start=1)
        ],
    )
    copy_insert(
        Consent,
        [
            Consent(
                application=application,
                reference=f"C-{application.ref}-{uuid.uuid4().hex[:8]}",
                given_by_id_number=idnumber.normalise(item.consent_given_by),
                given_by_user=parent,
                given_at=item.consent_given_at or now,
                lookups=list(item.consent_lookups),
            )
            for application, (item, _, _) in zip(applications, accepted, strict=True)
        ],
    )
    copy_insert(
        ApplicationEvent,
        [
            _submitted_event(actor=actor, channel=channel, at=now, application=application)
            for application in applications
        ],
    )
    jobs = VerificationJob.objects.bulk_create(
        VerificationJob(application=application, enqueued_at=now if enqueue else None)
        for application in applications
    )
    job_ids = [job.pk for job in jobs]
    if enqueue:
        dispatch.verification_enqueue(job_ids=job_ids)
    return SubmitManyResult(applications, existing, rejected, job_ids)


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
    before = application.state
    application_transition(
        application=application,
        to_state=ApplicationState.WITHDRAWN,
        actor=actor,
        reason_code=EventReason.WITHDRAWN,
        reason=reason,
    )
    application.verification_jobs.filter(
        status__in=[
            VerificationJob.Status.PENDING,
            VerificationJob.Status.RUNNING,
            VerificationJob.Status.WAITING_REGISTRY,
        ]
    ).update(status=VerificationJob.Status.DONE, finished_at=timezone.now(), last_error="withdrawn")
    audit_log(
        actor=actor,
        action=AuditAction.APPLICATION_WITHDRAW,
        target=application,
        reason=reason,
        data={"old": {"state": before}, "new": {"state": application.state}},
    )
    return application


def application_transition(
    *,
    application: Application,
    to_state: str,
    actor: User | None = None,
    actor_label: str = "",
    reason_code: str = "",
    reason_params: dict | None = None,
    reason: str = "",
) -> Application:
    """Move one application to another state, or refuse an illegal change.

    `reason_code` (EventReason) says why in the product's terms, `reason` in a person's own
    words; the page shows the code's label followed by the words."""
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
        reason_code=reason_code,
        reason_params=reason_params or {},
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
