from django.utils import timezone

from enrollment.models import AuditLog, User


def audit_log(
    *, actor: User | None, action: str, target, reason: str = "", data: dict | None = None
) -> AuditLog:
    """One row per change a person makes: who, what, on which object, and why."""
    return AuditLog.objects.create(
        at=timezone.now(),
        actor=actor,
        action=action,
        target_type=type(target).__name__,
        target_id=str(target.pk),
        reason=reason,
        data=data or {},
    )
