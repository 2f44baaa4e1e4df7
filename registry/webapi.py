"""What both agencies' HTTP APIs share, in the one `{"message", "code", "extra"}` shape.

Part of the shared kernel beside registry.contract, registry.idnumber and
registry.interchange: the education bureau's API takes it as the registry's does.

JSON request bodies of bounded size and depth (BoundedJSONParser). Python's json module
recurses once per level of nesting, so a body of 50,000 `[` ends in RecursionError: a server
error. This parser counts the nesting before parsing (400 beyond JSON_MAX_DEPTH) and refuses
text that is not Unicode (a lone surrogate escaped as `\\ud800` parses, then fails wherever it
is encoded, the database included). It reads at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes (413
beyond) whatever DRF hands it: DRF 3.18 reads `request.body` first, where Django refuses a
longer body itself (RequestDataTooBig, which `unexpected_error_response` answers 413 too), and
the limit here does not depend on that. Both APIs take it through REST_FRAMEWORK's
DEFAULT_PARSER_CLASSES; its errors are DRF exceptions, so each API's own handler renders them.

An ID number field (IdNumberField) that normalises through registry.idnumber, and the answer
to an exception DRF does not know (unexpected_error_response).
"""

import json
import re

import numpy as np
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.utils.log import log_response
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.utils.json import strict_constant
from rest_framework.views import set_rollback

from registry import idnumber

# The deepest body any operation takes (a what-if policy document) is four levels deep;
# 32 leaves room for any document a district writes, and is far from the recursion limit.
JSON_MAX_DEPTH = 32

# A JSON string, escapes included, written as the unrolled loop so that a long one costs one
# pass; removed before counting brackets, since brackets inside strings are text.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# What each byte does to the depth: brackets are ASCII, and no byte of a multi-byte UTF-8
# character is.
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "the request body is larger than this API accepts"
    default_code = "request_too_large"


def json_depth(text: str) -> int:
    """How deep the brackets of a JSON text nest (0 for a scalar), without parsing it: a
    running sum over the bytes outside strings, so a body of millions of brackets costs
    milliseconds, and nothing is built for a body that is refused."""
    outside = np.frombuffer(_STRING.sub("", text).encode(), dtype=np.uint8)
    return int(np.cumsum(_STEP[outside], dtype=np.int32).max(initial=0))


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = parser_context.get("request")
        declared = _content_length(request)
        if limit is not None and declared > limit:
            raise RequestTooLarge(f"the request body is over {limit} bytes")
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise RequestTooLarge(f"the request body is over {limit} bytes")
        encoding = _text_encoding(parser_context)
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            raise ParseError(f"JSON parse error - the body is not {encoding} text") from None
        depth = json_depth(text)
        if depth > JSON_MAX_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {JSON_MAX_DEPTH} levels")
        try:
            data = json.loads(text, parse_constant=strict_constant if self.strict else None)
        except ValueError as error:
            raise ParseError(f"JSON parse error - {error}") from None
        except RecursionError:
            # The bracket count above keeps far below the limit; kept as the last guard.
            raise ParseError("JSON parse error - nested too deep") from None
        if _SURROGATE_ESCAPE.search(text) and _holds_lone_surrogate(data):
            raise ParseError("JSON parse error - text holds a lone surrogate, not a character")
        return data


def _text_encoding(parser_context: dict) -> str:
    """The charset the Content-Type names, or DEFAULT_CHARSET; only a text encoding (a codec
    such as bz2_codec would expand a small body without bound)."""
    encoding = parser_context.get("encoding") or settings.DEFAULT_CHARSET
    try:
        "".encode(encoding)
    except (LookupError, UnicodeError):
        raise ParseError(f'Unsupported charset "{encoding}" in the Content-Type header') from None
    return encoding


def _content_length(request) -> int:
    meta = getattr(request, "META", {})
    try:
        return int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _holds_lone_surrogate(data) -> bool:
    # A pair of escapes that makes one character (an emoji) is fine: json joins the two.
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class IdNumberField(serializers.CharField):
    """An ID number, normalised by `registry.idnumber` (full-width digits, spaces, `x`) or
    refused saying which check failed; the message never repeats the number."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 18)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> str:
        try:
            return idnumber.validate(super().to_internal_value(data))
        except idnumber.InvalidIdNumber as error:
            raise serializers.ValidationError(str(error), code=f"id_{error.code}") from None


def unexpected_error_response(exc, context) -> Response:
    """An exception DRF does not know, in the API's shape instead of an HTML page.

    Django's own refusals keep their status (a body over DATA_UPLOAD_MAX_MEMORY_SIZE 413, any
    other suspicious request 400). Anything else is a 500 that says nothing of its cause: the
    traceback goes to the log (masked) and to whatever listens for request exceptions, as
    Django's own handler would have sent it.
    """
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
