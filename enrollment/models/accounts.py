"""Who signs in, and in which role."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .notifications import NotificationPreference

# The languages a message can be written in: the site's (settings.LANGUAGES), named here so
# that a change of the site's settings never makes a migration.
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]


class Role(models.TextChoices):
    PARENT = "parent", _("家长")
    OFFICER = "officer", _("教育局工作人员")
    SCHOOL = "school", _("学校工作人员")
    STEWARD = "steward", _("数据统筹人员")
    AUDITOR = "auditor", _("审计人员")


def officer_district(user) -> str | None:
    """The district an officer acts for; None for anyone else, who is shown no district's
    data. Every `for_officer` QuerySet method scopes by this."""
    return user.district_code if getattr(user, "role", None) == Role.OFFICER else None


def is_parent(user) -> bool:
    return getattr(user, "role", None) == Role.PARENT


class User(AbstractUser):
    """Every person who signs in. An officer belongs to a district, school staff to a school."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PARENT)
    # An officer's or data steward's district (GB/T 2260, six digits).
    district_code = models.CharField(max_length=6, blank=True)
    # School staff: the school's code, the same across admission years.
    school_code = models.CharField(max_length=16, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    # A parent's real-name identity: their ID number once the registry matched their name
    # to it and they confirmed the code sent to their phone (enrollment.services.identity),
    # blank until then. On the account row because every signed-in request reads that row
    # anyway: applying checks it without a query of its own. One identity, one account.
    verified_id_number = models.CharField(max_length=18, blank=True)
    # The language messages are written in (settings.LANGUAGES), and which of SMS and e-mail
    # a family wants besides the portal's inbox (enrollment.models.notifications).
    language = models.CharField(max_length=8, choices=LANGUAGES, default="zh-hans")
    notify_by = models.CharField(
        max_length=8, choices=NotificationPreference.choices, default=NotificationPreference.BOTH
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["verified_id_number"],
                condition=~Q(verified_id_number=""),
                name="one_account_per_identity",
            ),
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

    @property
    def is_identity_verified(self) -> bool:
        return bool(self.verified_id_number)
