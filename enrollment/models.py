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


class ApplicationEvent(models.Model):
    """Every change of an application's state, with who made it and why."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    actor = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # "system", "worker", "counter": who acted when no person did.
    actor_label = models.CharField(max_length=64, blank=True)
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
