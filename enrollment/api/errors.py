"""One exception handler for the whole API: every error is `{"message", "code", "extra"}`."""

import logging

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from enrollment.access import access_denied
from enrollment.errors import ApplicationError, ErrorCode
from registry.idnumber import mask_in_text
from registry.webapi import unexpected_error_response

logger = logging.getLogger("enrollment.api")


def _flatten(detail, prefix="") -> list[dict]:
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            out.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [{"field": prefix, "message": mask_in_text(str(item))} for item in detail]
        out = []
        for index, item in enumerate(detail):
            out.extend(_flatten(item, f"{prefix}[{index}]"))
        return out
    return [{"field": prefix, "message": mask_in_text(str(detail))}]


_STATUS = {
    ErrorCode.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ErrorCode.PERMISSION_DENIED: status.HTTP_403_FORBIDDEN,
    ErrorCode.DUPLICATE_APPLICATION: status.HTTP_409_CONFLICT,
    ErrorCode.ILLEGAL_TRANSITION: status.HTTP_409_CONFLICT,
    ErrorCode.STALE_DECISION: status.HTTP_409_CONFLICT,
    ErrorCode.IDENTITY_UNVERIFIED: status.HTTP_403_FORBIDDEN,
    ErrorCode.REGISTRY_UNAVAILABLE: status.HTTP_503_SERVICE_UNAVAILABLE,
}
# Identity refusals that a limit made (enrollment.services.identity): try again later.
_LIMITS = {"too_many_checks", "resend_too_soon", "resend_limit"}


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        if exc.code == ErrorCode.IDENTITY_REFUSED and exc.why in _LIMITS:
            return Response(exc.as_dict(), status=status.HTTP_429_TOO_MANY_REQUESTS)
        return Response(exc.as_dict(), status=_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST))
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first = errors[0] if errors else {"field": "", "message": "invalid input"}
        return Response(
            {
                "message": f"{first['field']}: {first['message']}"
                if first["field"]
                else first["message"],
                "code": ErrorCode.INVALID,
                "extra": {"errors": errors},
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return unexpected_error_response(exc, context)
    if isinstance(
        exc, exceptions.PermissionDenied | exceptions.NotAuthenticated | exceptions.NotFound
    ):
        access_denied(context.get("request"), f"API {type(exc).__name__}")
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
    response.data = {
        "message": str(detail),
        "code": getattr(detail, "code", None) or getattr(exc, "default_code", "error"),
        "extra": {},
    }
    return response
