"""An application, the family it names, its consent and the history of its states."""

from collections.abc import Collection, Sequence

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registry.contract import PURPOSE_PRIMARY_ENROLLMENT, SOURCE_LABELS
from registry.idnumber import mask

from .accounts import is_parent, officer_district
from .schools import School


class ApplicationState(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    VERIFYING = "verifying", _("核验中")
    WAITING_REGISTRY = "waiting_registry", _("等待数据返回")
    NEEDS_REVIEW = "needs_review", _("待人工审核")
    DECIDED = "decided", _("已出结果")
    WITHDRAWN = "withdrawn", _("已撤回")


def applicant_is_related(
    *,
    applicant_id_number: str,
    guardians: Sequence[tuple[int, str]],
    related_indexes: Collection[int] | None,
    accepted_positions: Collection[int] = (),
) -> bool:
    """Whether the account that applied is itself a related guardian of the child (DOMAIN.md,
    "Guardianship"): the applicant names themselves as a guardian, and that guardian is one the
    registry related to the child (same household), or one an officer accepted on evidence.

    `guardians` are the application's (position, ID number) in position order, the order the
    registry's `guardian_index` counts in; `related_indexes` those indexes as the registry
    answered, None for an answer given before the registry related guardians at all (decided
    as it was then); `accepted_positions` the guardian positions accepted on evidence since.
    Until this holds, the account sees nothing beyond its own submission and its application
    is decided by an officer, not the machine.
    """
    if related_indexes is None:
        return True
    for index, (position, id_number) in enumerate(guardians):
        if id_number == applicant_id_number:
            return index in related_indexes or position in accepted_positions
    return False


class ApplicationQuerySet(models.QuerySet):
    def for_parent(self, user):
        """A parent's own applications (counter-entered ones have no parent account)."""
        return self.filter(applicant=user) if is_parent(user) else self.none()

    def for_officer(self, user):
        """The applications of the officer's district."""
        district = officer_district(user)
        return self.none() if district is None else self.filter(district_code=district)

    def visible_to(self, user):
        """A parent sees their own applications, an officer their district's; no one else any."""
        return self.for_parent(user) if is_parent(user) else self.for_officer(user)


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

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at"]
        # One application per child, year and applying account, and one per child and year
        # entered at the counter. Two accounts (two people: an account has one verified
        # identity) may each apply for the same child: a stranger's application must not
        # keep the child's own guardians out. Verification sends such competing
        # applications to an officer (enrollment.services.competition).
        constraints = [
            models.UniqueConstraint(
                fields=["child_id_number", "admission_year", "applicant"],
                name="one_application_per_child_year_applicant",
            ),
            models.UniqueConstraint(
                fields=["child_id_number", "admission_year"],
                condition=Q(applicant__isnull=True),
                name="one_counter_application_per_child_year",
            ),
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
        HUKOU = "hukou", SOURCE_LABELS["hukou"]
        PROPERTY = "property", SOURCE_LABELS["property"]
        RENTAL = "rental", SOURCE_LABELS["rental"]
        SOCIAL_INSURANCE = "social_insurance", SOURCE_LABELS["social_insurance"]
        RESIDENCE_PERMIT = "residence_permit", SOURCE_LABELS["residence_permit"]

    PURPOSE_ENROLLMENT = PURPOSE_PRIMARY_ENROLLMENT

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
    # reason_params: {"fact": "housing"}
    FINDING_ACCEPTED = "finding_accepted", _("工作人员认定事实后重新计分")
    OVERRIDE = "override", _("人工改判")
    VERIFY_AGAIN = "verify_again", _("重新核验")
    RECHECK_CHANGED = "recheck_changed", _("复核后更正结果")
    WITHDRAWN = "withdrawn", _("撤回申请")
    # reason_params: {"others": ["A1B2C3D4E5F6"]}, the other live applications for the child.
    # Shown to officers only: a parent's page never says that someone else applied.
    COMPETING_APPLICATION = "competing_application", _("同一孩子另有申请，转人工审核")
    # The registry related other named adults to the child but not the account that applied:
    # an officer decides, and until a relation is accepted the account sees only what it sent.
    APPLICANT_NOT_RELATED = (
        "applicant_not_related",
        _("申请人本人与孩子的监护关系未核实，转人工审核"),
    )


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


class EvidenceQuerySet(models.QuerySet):
    def for_officer(self, user):
        """Evidence offered for applications of the officer's district."""
        district = officer_district(user)
        return self.none() if district is None else self.filter(application__district_code=district)


class Evidence(models.Model):
    """What a parent offers where the registry has no record or the wrong one."""

    class Fact(models.TextChoices):
        HUKOU = "hukou", _("户籍")
        HOUSING = "housing", _("住房")
        SOCIAL_INSURANCE = "social_insurance", _("社保")
        RESIDENCE_PERMIT = "residence_permit", _("居住证")
        # That a named adult is the child's guardian: a household-booklet page or a birth
        # certificate (DOMAIN.md, "Guardianship").
        RELATION = "relation", _("监护关系")

    class Kind(models.TextChoices):
        UPLOAD = "upload", _("上传证明材料")
        COMMITMENT = "commitment", _("告知承诺")
        # An officer's own finding (documents seen at the counter, a department's written
        # answer), recorded and accepted at once with a reason: the way a case is settled in
        # the family's favour, so that the policy scores the fact rather than an outcome.
        FINDING = "finding", _("工作人员认定")

        @classmethod
        def family_choices(cls) -> list[tuple[str, str]]:
            """The kinds a family (or an officer on its behalf) offers; a finding is an
            officer's own and is never offered."""
            return [(kind.value, kind.label) for kind in (cls.UPLOAD, cls.COMMITMENT)]

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
    # (hukou: {"hukou_class": "D", "registered_on": "2019-06-15"}; relation:
    # {"guardian_position": 2, "document": "birth_certificate"}).
    accepted_values = models.JSONField(default=dict, blank=True)

    objects = EvidenceQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.application_id}: {self.fact} {self.kind} ({self.review})"
