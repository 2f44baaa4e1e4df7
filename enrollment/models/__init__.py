"""The education bureau's side: people and roles, schools, applications and their decisions.

One module per topic; every model is importable from `enrollment.models` as Django expects.
"""

from .accounts import Role, User
from .allocation import AllocationRun, Offer, Placement, WaitlistEntry
from .applications import (
    Application,
    ApplicationEvent,
    ApplicationState,
    Consent,
    EventReason,
    Evidence,
    Guardian,
    SchoolPreference,
    applicant_is_related,
)
from .audit import AuditAction, AuditLog, DownloadLog
from .decisions import Decision, PolicyDocument
from .identity import IdentityVerification
from .notifications import (
    DeliveryAttempt,
    Notification,
    NotificationChannel,
    NotificationEvent,
    NotificationPreference,
)
from .rechecks import Recheck
from .schools import Community, School
from .verification import VerificationJob

__all__ = [
    "AllocationRun",
    "Application",
    "ApplicationEvent",
    "ApplicationState",
    "AuditAction",
    "AuditLog",
    "Community",
    "Consent",
    "Decision",
    "DeliveryAttempt",
    "DownloadLog",
    "EventReason",
    "Evidence",
    "Guardian",
    "IdentityVerification",
    "Notification",
    "NotificationChannel",
    "NotificationEvent",
    "NotificationPreference",
    "Offer",
    "Placement",
    "PolicyDocument",
    "Recheck",
    "Role",
    "School",
    "SchoolPreference",
    "User",
    "VerificationJob",
    "WaitlistEntry",
    "applicant_is_related",
]
