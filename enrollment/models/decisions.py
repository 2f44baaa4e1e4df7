"""Points policies and the decisions they produce."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .accounts import officer_district
from .applications import Application


class PolicyDocumentQuerySet(models.QuerySet):
    def for_officer(self, user):
        district = officer_district(user)
        return self.none() if district is None else self.filter(district_code=district)


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

    objects = PolicyDocumentQuerySet.as_manager()

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


class DecisionQuerySet(models.QuerySet):
    def current(self):
        """Each application's one current decision; older ones are its history."""
        return self.filter(is_current=True)

    def for_officer(self, user):
        """Decisions on applications of the officer's district."""
        district = officer_district(user)
        return self.none() if district is None else self.filter(application__district_code=district)


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
    # The facts scoring used, packed as twelve integers (enrollment.policy.facts_pack), so that a
    # what-if rescoring of a whole city loads one short column instead of every `facts` JSON.
    facts_packed = models.CharField(max_length=96, blank=True)
    trace = models.JSONField(default=list)
    decided_by = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DecisionQuerySet.as_manager()

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
