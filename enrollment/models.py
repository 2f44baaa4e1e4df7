"""The education bureau's side: people and roles, schools, applications and their decisions."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registry.idnumber import mask


class Role(models.TextChoices):
    PARENT = "parent", _("家长")
    OFFICER = "officer", _("教育局工作人员")
    SCHOOL = "school", _("学校工作人员")
    STEWARD = "steward", _("数据统筹人员")
    AUDITOR = "auditor", _("审计人员")


class User(AbstractUser):
    """Every person who signs in. An officer belongs to a district, school staff to a school."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PARENT)
    # An officer's or data steward's district (GB/T 2260, six digits).
    district_code = models.CharField(max_length=6, blank=True)
    # School staff: the school's code, the same across admission years.
    school_code = models.CharField(max_length=16, blank=True)
    phone = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(role="officer") | ~Q(district_code=""),
                name="officer_has_district",
            ),
            models.CheckConstraint(
                condition=~Q(role="school") | ~Q(school_code=""),
                name="school_staff_has_school",
            ),
        ]

    @property
    def is_parent(self) -> bool:
        return self.role == Role.PARENT

    @property
    def is_officer(self) -> bool:
        return self.role == Role.OFFICER

    @property
    def is_school_staff(self) -> bool:
        return self.role == Role.SCHOOL

    @property
    def is_steward(self) -> bool:
        return self.role == Role.STEWARD


class School(models.Model):
    """A school's offer of places for one admission year."""

    class Kind(models.TextChoices):
        PUBLIC = "public", _("公办")
        PRIVATE = "private", _("民办")

    code = models.CharField(max_length=16)
    admission_year = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=128)
    district_code = models.CharField(max_length=6)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    grade = models.CharField(max_length=16, default="primary1")
    capacity = models.PositiveIntegerField()
    catchment_communities = models.JSONField(default=list)
    address = models.CharField(max_length=255, blank=True)
    lat = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    lon = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["code", "admission_year"], name="school_per_year"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Community(models.Model):
    """A residential community (社区) the district knows, by its 12-digit code."""

    code = models.CharField(max_length=12, unique=True)
    district_code = models.CharField(max_length=6, db_index=True)
    name = models.CharField(max_length=128, blank=True)

    class Meta:
        verbose_name_plural = "communities"

    def __str__(self) -> str:
        return self.code


class ApplicationState(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    VERIFYING = "verifying", _("核验中")
    WAITING_REGISTRY = "waiting_registry", _("等待数据返回")
    NEEDS_REVIEW = "needs_review", _("待人工审核")
    DECIDED = "decided", _("已出结果")
    WITHDRAWN = "withdrawn", _("已撤回")


class Application(models.Model):
    class Channel(models.TextChoices):
        ONLINE = "online", _("网上申请")
        ASSISTED = "assisted", _("窗口代办")

    ref = models.CharField(max_length=32, unique=True)
    admission_year = models.PositiveSmallIntegerField()
    grade = models.CharField(max_length=16, default="primary1")
    district_code = models.CharField(max_length=6)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    applicant = models.ForeignKey(
        "User",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
        help_text="The parent's account; empty for counter-entered applications.",
    )
    child_name = models.CharField(max_length=64)
    child_id_number = models.CharField(max_length=18)
    child_birth_date = models.DateField()
    home_community_code = models.CharField(max_length=12)
    home_address = models.CharField(max_length=255, blank=True)
    state = models.CharField(
        max_length=20, choices=ApplicationState.choices, default=ApplicationState.SUBMITTED
    )
    submitted_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set when the retention rule has removed the personal data.
    deidentified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["child_id_number", "admission_year"], name="one_application_per_child_year"
            )
        ]
        indexes = [models.Index(fields=["admission_year", "state"])]

    def __str__(self) -> str:
        return self.ref

    @property
    def child_id_masked(self) -> str:
        return mask(self.child_id_number)


class Guardian(models.Model):
    class Relation(models.TextChoices):
        FATHER = "father", _("父亲")
        MOTHER = "mother", _("母亲")
        GUARDIAN = "guardian", _("其他监护人")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="guardians")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=64)
    id_number = models.CharField(max_length=18)
    relation = models.CharField(max_length=16, choices=Relation.choices)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["application", "position"], name="guardian_position"),
            models.CheckConstraint(condition=Q(position__in=[1, 2]), name="at_most_two_guardians"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}#{self.position} {self.name}"

    @property
    def id_masked(self) -> str:
        return mask(self.id_number)


class SchoolPreference(models.Model):
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="preferences"
    )
    rank = models.PositiveSmallIntegerField()
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="preferences")

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["application", "rank"], name="preference_rank"),
            models.UniqueConstraint(fields=["application", "school"], name="preference_school"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} #{self.rank}: {self.school_id}"


class Consent(models.Model):
    """A guardian's consent to the registry lookups of one application, for one purpose."""

    class Lookup(models.TextChoices):
        HUKOU = "hukou", _("户籍信息（公安部门）")
        PROPERTY = "property", _("房产登记（住建部门）")
        RENTAL = "rental", _("租赁备案（住建部门）")
        SOCIAL_INSURANCE = "social_insurance", _("社保缴费（人社部门）")
        RESIDENCE_PERMIT = "residence_permit", _("居住证（公安部门）")

    PURPOSE_ENROLLMENT = "primary-enrollment-eligibility"

    application = models.OneToOneField(
        Application, on_delete=models.CASCADE, related_name="consent"
    )
    reference = models.CharField(max_length=64, unique=True)
    given_by_id_number = models.CharField(max_length=18)
    given_by_user = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    given_at = models.DateTimeField()
    purpose = models.CharField(max_length=64, default=PURPOSE_ENROLLMENT)
    lookups = models.JSONField(default=list)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.reference


class EventReason(models.TextChoices):
    """Why the product itself changed an application's state: a stable code, named in the
    page's language when shown. A person's own words go in ApplicationEvent.reason."""

    SUBMITTED = "submitted", _("提交申请")
    VERIFICATION_STARTED = "verification_started", _("开始向数据平台核验")
    VERIFIED = "verified", _("已向数据平台核验")
    REGISTRY_WAITING = "registry_waiting", _("数据平台暂时无法访问，稍后自动重试")
    # reason_params: {"attempts": 8}
    REGISTRY_UNAVAILABLE = "registry_unavailable", _("数据平台多次无法访问，转人工审核")
    NO_POLICY = "no_policy", _("没有生效的积分办法，转人工审核")
    # reason_params: {"refusal": "PURPOSE_MISSING"}
    LOOKUP_REFUSED = "lookup_refused", _("数据平台拒绝了查询，转人工审核")
    # reason_params: {"kind": "commitment", "fact": "hukou"}
    EVIDENCE_OFFERED = "evidence_offered", _("家长补充了证明材料")
    EVIDENCE_REVIEWED = "evidence_reviewed", _("审核证明材料后重新计分")
    OVERRIDE = "override", _("人工改判")
    VERIFY_AGAIN = "verify_again", _("重新核验")
    RECHECK_CHANGED = "recheck_changed", _("复核后更正结果")
    WITHDRAWN = "withdrawn", _("撤回申请")


class ApplicationEvent(models.Model):
    """Every change of an application's state, with who made it and why.

    `reason_code` says why when the product wrote the event (with `reason_params` for the
    specifics); `reason` holds only a person's own words (an officer's override reason, a
    parent's reason to withdraw), shown as typed. Either may be blank.
    """

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    actor = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # "system", "worker", "counter": who acted when no person did.
    actor_label = models.CharField(max_length=64, blank=True)
    reason_code = models.CharField(max_length=32, choices=EventReason.choices, blank=True)
    reason_params = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.from_state or '-'} -> {self.to_state}"


class VerificationJob(models.Model):
    """The outbox row behind one application's verification.

    Written in the submit transaction, enqueued after commit, claimed by a worker with a
    conditional update so that a message delivered twice does the work once, and re-enqueued
    by the reconciler when its message was lost.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("核验中")
        WAITING_REGISTRY = "waiting_registry", _("等待数据返回")
        DONE = "done", _("已完成")
        MANUAL = "manual", _("转人工")

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="verification_jobs"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=36, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "enqueued_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(status__in=["pending", "running", "waiting_registry"]),
                name="one_open_verification_job",
            )
        ]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status})"


class PolicyDocument(models.Model):
    """A versioned points policy for one district, admission year and grade."""

    district_code = models.CharField(max_length=6)
    admission_year = models.PositiveSmallIntegerField()
    grade = models.CharField(max_length=16, default="primary1")
    version = models.CharField(max_length=32)
    document = models.JSONField()
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["district_code", "admission_year", "grade", "version"],
                name="policy_version_unique",
            ),
            models.UniqueConstraint(
                fields=["district_code", "admission_year", "grade"],
                condition=Q(is_active=True),
                name="one_active_policy",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.district_code}/{self.admission_year}/{self.grade} v{self.version}"


class Decision(models.Model):
    """An eligibility decision with the facts and the trace behind every point."""

    class Outcome(models.TextChoices):
        ELIGIBLE = "eligible", _("符合条件")
        INELIGIBLE = "ineligible", _("不符合条件")
        NEEDS_REVIEW = "needs_review", _("待人工审核")

    class Basis(models.TextChoices):
        COMPUTED = "computed", _("系统核验")
        REVIEWED = "reviewed", _("人工审核后重算")
        OVERRIDE = "override", _("人工改判")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="decisions")
    policy = models.ForeignKey(PolicyDocument, on_delete=models.PROTECT, related_name="decisions")
    is_current = models.BooleanField(default=True)
    basis = models.CharField(max_length=16, choices=Basis.choices, default=Basis.COMPUTED)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    hukou_class = models.CharField(max_length=1, blank=True)
    housing_class = models.CharField(max_length=8, blank=True)
    base_points = models.DecimalField(max_digits=6, decimal_places=1, default=0)
    bonus_points = models.DecimalField(max_digits=6, decimal_places=1, default=0)
    total_points = models.DecimalField(max_digits=6, decimal_places=1, default=0)
    residence_months = models.PositiveIntegerField(default=0)
    si_months = models.PositiveIntegerField(default=0)
    reasons = models.JSONField(default=list)
    facts = models.JSONField(default=dict)
    # The facts scoring used, packed as ten integers (enrollment.policy.facts_pack), so that a
    # what-if rescoring of a whole city loads one short column instead of every `facts` JSON.
    facts_packed = models.CharField(max_length=96, blank=True)
    trace = models.JSONField(default=list)
    decided_by = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(is_current=True),
                name="one_current_decision",
            )
        ]
        indexes = [
            models.Index(fields=["outcome"], condition=Q(is_current=True), name="current_outcome")
        ]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.outcome} {self.total_points}"


class Evidence(models.Model):
    """What a parent offers where the registry has no record or the wrong one."""

    class Fact(models.TextChoices):
        HUKOU = "hukou", _("户籍")
        HOUSING = "housing", _("住房")
        SOCIAL_INSURANCE = "social_insurance", _("社保")
        RESIDENCE_PERMIT = "residence_permit", _("居住证")

    class Kind(models.TextChoices):
        UPLOAD = "upload", _("上传证明材料")
        COMMITMENT = "commitment", _("告知承诺")

    class Review(models.TextChoices):
        PENDING = "pending", _("待审核")
        ACCEPTED = "accepted", _("已采纳")
        REJECTED = "rejected", _("未采纳")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="evidence")
    fact = models.CharField(max_length=20, choices=Fact.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    file = models.FileField(upload_to="evidence/%Y/%m/", blank=True)
    content_type = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(default=0)
    statement = models.TextField(blank=True)
    submitted_by = models.ForeignKey("User", on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField()
    review = models.CharField(max_length=16, choices=Review.choices, default=Review.PENDING)
    reviewed_by = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    review_reason = models.CharField(max_length=500, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # What the officer established on accepting it, where the evidence alone does not say
    # (hukou: {"hukou_class": "D", "registered_on": "2019-06-15"}).
    accepted_values = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.application_id}: {self.fact} {self.kind} ({self.review})"


class AuditLog(models.Model):
    """Every change a person makes on the enrollment side, with who and why."""

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    reason = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type}:{self.target_id}"


# --- Allocation of places, offers, waiting lists, re-checks, admitted lists ------------------


class AllocationRun(models.Model):
    """One recorded allocation: its inputs' fingerprint, policy version, seed, who ran it, and
    the outcome per school. A dry run can be compared but never published; publishing makes
    the offers of one run visible to parents at a single moment (`visible_from`)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("计算中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    admission_year = models.PositiveSmallIntegerField()
    # The district whose schools and applications take part; empty for the whole city.
    district_code = models.CharField(max_length=6, blank=True)
    # 1 for the main allocation; each later round fills places from the waiting lists.
    round = models.PositiveSmallIntegerField(default=1)
    seed = models.BigIntegerField()
    is_dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    progress_note = models.CharField(max_length=64, blank=True)
    inputs_fingerprint = models.CharField(max_length=64, blank=True)
    policy_version = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    applicants_count = models.PositiveIntegerField(default=0)
    placed_count = models.PositiveIntegerField(default=0)
    unplaced_count = models.PositiveIntegerField(default=0)
    # {school_code: {"capacity": n, "placed": n, "in_catchment": n}}
    counts = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Offers are visible to parents from this moment (the embargo), never before publication.
    visible_from = models.DateTimeField(null=True, blank=True)
    respond_by = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["admission_year", "district_code", "round"],
                condition=Q(published_at__isnull=False),
                name="one_published_run_per_round",
            ),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="allocation_progress_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} {self.admission_year}/{self.district_code or '*'} r{self.round}"


class Placement(models.Model):
    """One applicant's outcome in one run; `school` is empty when not placed."""

    run = models.ForeignKey(AllocationRun, on_delete=models.CASCADE, related_name="placements")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(
        School, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    in_catchment = models.BooleanField(default=False)
    total_points = models.DecimalField(max_digits=6, decimal_places=1)
    lottery_number = models.PositiveIntegerField()
    preference_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    # Position in the school's priority order among those it admitted (1 first).
    school_rank = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "application"], name="one_placement_per_run")
        ]
        indexes = [models.Index(fields=["run", "school", "school_rank"])]

    def __str__(self) -> str:
        return f"{self.run_id}: {self.application_id} -> {self.school_id}"


class WaitlistEntry(models.Model):
    """A place on a school's waiting list, for a school ranked above the applicant's offer."""

    run = models.ForeignKey(AllocationRun, on_delete=models.CASCADE, related_name="waitlist")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["school", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "school", "application"], name="one_waitlist_place"
            ),
            models.UniqueConstraint(
                fields=["run", "school", "position"], name="waitlist_position_unique"
            ),
        ]
        indexes = [models.Index(fields=["run", "application"])]

    def __str__(self) -> str:
        return f"{self.school_id} #{self.position}: {self.application_id}"


class Offer(models.Model):
    """A place offered to a family by a published run, their answer, and the school's 报到."""

    class Status(models.TextChoices):
        OFFERED = "offered", _("待答复")
        ACCEPTED = "accepted", _("已接受")
        DECLINED = "declined", _("已放弃")
        EXPIRED = "expired", _("逾期未答复")
        SUPERSEDED = "superseded", _("已由后续轮次替代")
        WITHDRAWN = "withdrawn", _("已撤销")

    class Enrolment(models.TextChoices):
        ENROLLED = "enrolled", _("已报到")
        NO_SHOW = "no_show", _("未报到")

    LIVE = (Status.OFFERED, Status.ACCEPTED)

    run = models.ForeignKey(AllocationRun, on_delete=models.PROTECT, related_name="offers")
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="offers")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="offers")
    round = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OFFERED)
    made_at = models.DateTimeField()
    respond_by = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Given with the family's answer; asking again with the same answer returns the same one.
    receipt_no = models.CharField(max_length=24, null=True, blank=True, unique=True)
    enrolment = models.CharField(max_length=10, choices=Enrolment.choices, blank=True)
    enrolment_marked_by = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    enrolment_marked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-made_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"],
                condition=Q(status__in=["offered", "accepted"]),
                name="one_live_offer",
            )
        ]
        indexes = [models.Index(fields=["school", "status"])]

    def __str__(self) -> str:
        return f"offer {self.pk}: {self.application_id} -> {self.school_id} ({self.status})"


class Recheck(models.Model):
    """A family's request for a re-check (复核) after publication, and the officer's answer."""

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        UPHELD = "upheld", _("维持原结果")
        CHANGED = "changed", _("已更正")

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="rechecks")
    run = models.ForeignKey(AllocationRun, on_delete=models.PROTECT, related_name="rechecks")
    requested_by = models.ForeignKey("User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    reason = models.CharField(max_length=1000)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_reason = models.CharField(max_length=1000, blank=True)
    new_decision = models.ForeignKey(
        Decision, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(status="open"), name="one_open_recheck"
            )
        ]

    def __str__(self) -> str:
        return f"recheck {self.pk}: {self.application_id} ({self.status})"


class DownloadLog(models.Model):
    """Every download of an admitted list, and every refused attempt."""

    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    school_code = models.CharField(max_length=16)
    admission_year = models.PositiveSmallIntegerField()
    format = models.CharField(max_length=8)
    channel = models.CharField(max_length=16, default="api")
    allowed = models.BooleanField(default=True)
    rows = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.school_code} {self.format} by {self.user_id} ({'ok' if self.allowed else 'denied'})"
