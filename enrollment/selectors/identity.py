"""Reads of a parent's real-name identity."""

from enrollment.models import IdentityVerification, User


def identity_pending(*, user: User) -> IdentityVerification | None:
    """The attempt waiting for its code, the newest; None when there is none."""
    return (
        IdentityVerification.objects.filter(user=user, status=IdentityVerification.Status.PENDING)
        .order_by("-created_at", "-id")
        .first()
    )


def identity_verified(*, user: User) -> IdentityVerification | None:
    """The record of the account's binding, None while it has none."""
    return IdentityVerification.objects.filter(
        user=user, status=IdentityVerification.Status.VERIFIED
    ).first()


def phone_masked(phone: str) -> str:
    """`139****0001`: enough for a person to recognise their number."""
    if len(phone or "") < 7:
        return "****"
    return f"{phone[:3]}****{phone[-4:]}"
