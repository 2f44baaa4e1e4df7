"""The registry API's errors: `{"message", "code", "extra"}`, never an unmasked ID number."""

import logging

from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from registry.api.authentication import ApiKeyAuthentication
from registry.contract import LookupContext, LookupRefused
from registry.idnumber import mask_in_text
from registry.services.records import RecordRejected
from registry.webapi import unexpected_error_response

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
        return unexpected_error_response(exc, context)
    if response.status_code in (401, 403):
        logger.warning("registry API denied client %s: %s", client_id, type(exc).__name__)
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
    response.data = {
        "message": mask_in_text(str(detail)),
        "code": getattr(detail, "code", None) or getattr(exc, "default_code", "error"),
        "extra": {},
    }
    return response


class RegistryApi(APIView):
    """Every registry endpoint: department clients by API key, errors in one shape."""

    authentication_classes = [ApiKeyAuthentication]
    throttle_classes = []

    def get_exception_handler(self):
        return exception_handler

    def lookup_context(self, request) -> LookupContext:
        """Who asks and why: the API key's client, and X-Road-Purpose. An X-Road-Client header
        naming another client than the key's is refused (and the services audit nothing)."""
        client = request.user
        named = request.headers.get("X-Road-Client", "").strip()
        if named and named != client.client_id:
            raise LookupRefused("CLIENT_MISMATCH", "X-Road-Client does not match the API key")
        return LookupContext(
            client_id=client.client_id, purpose=request.headers.get("X-Road-Purpose", "")
        )


# The X-Road headers every lookup carries, for the endpoints' OpenAPI description.
LOOKUP_HEADERS = [
    OpenApiParameter("X-Road-Client", str, OpenApiParameter.HEADER, required=False),
    OpenApiParameter("X-Road-Purpose", str, OpenApiParameter.HEADER, required=True),
]
