"""Schools' places per admission year, and the communities of the district."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .accounts import Role, officer_district


class SchoolQuerySet(models.QuerySet):
    def for_officer(self, user):
        """The schools of the officer's district."""
        district = officer_district(user)
        return self.none() if district is None else self.filter(district_code=district)

    def for_staff(self, user):
        """The school a member of school staff works at, every admission year of it."""
        if getattr(user, "role", None) != Role.SCHOOL:
            return self.none()
        return self.filter(code=user.school_code)


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

    objects = SchoolQuerySet.as_manager()

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
    # Its outline as a GeoJSON geometry (Polygon or MultiPolygon, longitude first, WGS 84),
    # from `import_communities FILE.geojson`; the base layer of the officers' map.
    shape = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "communities"

    def __str__(self) -> str:
        return self.code
