"""The registry API's errors: `{"message", "code", "extra"}`, never an unmasked ID number."""

import logging

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.utils.log import log_response
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback
from rest_framework.views import exception_handler as drf_exception_handler

from registry.api.authentication import ApiKeyAuthentication
from registry.contract import LookupRefused
from registry.idnumber import mask_in_text
from registry.services.records import RecordRejected

logger = logging.getLogger("registry.api")


def _flatten(detail, prefix="") -> list[dict]:
    if isinstance(detail, dict):
        return [
            error
            for key, value in detail.items()
            for error in _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        ]
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [{"field": prefix, "message": mask_in_text(str(item))} for item in detail]
        return [
            error
            for index, item in enumerate(detail)
            for error in _flatten(item, f"{prefix}[{index}]")
        ]
    return [{"field": prefix, "message": mask_in_text(str(detail))}]


def exception_handler(exc, context):
    client = getattr(context.get("request"), "user", None)
    client_id = getattr(client, "client_id", "anonymous")
    if isinstance(exc, LookupRefused):
        logger.warning("lookup refused for client %s: %s", client_id, exc.code)
        return Response(
            {"message": mask_in_text(str(exc)), "code": exc.code, "extra": {}},
            status=status.HTTP_403_FORBIDDEN,
        )
    if isinstance(exc, RecordRejected):
        logger.info("counter record from %s rejected: %s", client_id, mask_in_text(exc.reason))
        return Response(
            {
                "message": mask_in_text(exc.reason),
                "code": "record_invalid",
                "extra": {"field": exc.field},
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first = errors[0] if errors else {"field": "", "message": "invalid input"}
        return Response(
            {
                "message": f"{first['field']}: {first['message']}"
                if first["field"]
                else first["message"],
                "code": "invalid",
                "extra": {"errors": errors},
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return _unexpected_error_response(exc, context)
    if response.status_code in (401, 403):
        logger.warning("registry API denied client %s: %s", client_id, type(exc).__name__)
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
    response.data = {
        "message": mask_in_text(str(detail)),
        "code": getattr(detail, "code", None) or getattr(exc, "default_code", "error"),
        "extra": {},
    }
    return response


def _unexpected_error_response(exc, context) -> Response:
    """An exception DRF does not know, in the API's shape instead of an HTML page: Django's
    own refusals keep their status (413 for a body over DATA_UPLOAD_MAX_MEMORY_SIZE, 400 for
    any other suspicious request); anything else is a 500 that says nothing of its cause,
    logged (masked) with its traceback and sent to whatever listens for request exceptions,
    as Django's own handler would have done."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {
                "message": f"the request body is over {limit} bytes",
                "code": "request_too_large",
                "extra": {},
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response(
            {"message": "the request was refused as malformed", "code": "bad_request", "extra": {}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    request = getattr(context.get("request"), "_request", None)
    signals.got_request_exception.send(sender=None, request=request)
    set_rollback()
    response = Response(
        {"message": "an unexpected error; it has been logged", "code": "server_error", "extra": {}},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
    log_response(
        "%s: %s",
        response.reason_phrase,
        getattr(request, "path", "?"),
        response=response,
        request=request,
        exception=exc,
    )
    return response


class RegistryApi(APIView):
    """Every registry endpoint: department clients by API key, errors in one shape."""

    authentication_classes = [ApiKeyAuthentication]
    throttle_classes = []

    def get_exception_handler(self):
        return exception_handler
