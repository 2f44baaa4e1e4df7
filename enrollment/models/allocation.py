"""Allocation of places: runs, placements, waiting lists and offers."""

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .accounts import is_parent, officer_district
from .applications import Application
from .schools import School


def visible_to_parents(now: datetime, *, via: str = "") -> Q:
    """When families see a run's results: once it is published and its embargo (`visible_from`)
    is over. `via` reaches the run from a related model ("run__" from an offer)."""
    return Q(**{f"{via}published_at__isnull": False, f"{via}visible_from__lte": now})


class AllocationRunQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published_at__isnull=False)

    def visible_to_parents(self, now: datetime):
        return self.filter(visible_to_parents(now))

    def covering(self, district_code: str):
        """The runs that place a district's applicants: its own and the city-wide ones
        (district_code empty)."""
        return self.filter(district_code__in=[district_code, ""])

    def for_officer(self, user):
        """An officer sees their district's runs and the city-wide ones, which place their
        district's children too; what they see of a city-wide run is their district's part
        (enrollment.selectors.allocation.allocation_run_outcome)."""
        district = officer_district(user)
        return self.none() if district is None else self.covering(district)


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

    objects = AllocationRunQuerySet.as_manager()

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


class PlacementQuerySet(models.QuerySet):
    def for_officer(self, user):
        """Placements of the officer's district's applicants (a city-wide run has every
        district's)."""
        district = officer_district(user)
        return self.none() if district is None else self.filter(application__district_code=district)


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

    objects = PlacementQuerySet.as_manager()

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


class OfferQuerySet(models.QuerySet):
    def live(self):
        return self.filter(status__in=Offer.LIVE)

    def visible_to_parents(self, now: datetime):
        """Offers of runs families may see now (see `visible_to_parents`)."""
        return self.filter(visible_to_parents(now, via="run__"))

    def for_parent(self, user):
        """The offers made to a parent's own applications; none for anyone else."""
        return self.filter(application__applicant=user) if is_parent(user) else self.none()


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

    objects = OfferQuerySet.as_manager()

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
