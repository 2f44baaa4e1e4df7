"""JSON request bodies of bounded size and depth, for every API of the product.

Python's json module recurses once per level of nesting, so a body of 50,000 `[` ends in
RecursionError: a server error. This parser counts the nesting before parsing (400 beyond
JSON_MAX_DEPTH) and refuses text that is not Unicode (a lone surrogate escaped as `\\ud800`
parses, then fails wherever it is encoded, the database included). It reads at most
DATA_UPLOAD_MAX_MEMORY_SIZE bytes (413 beyond) whatever DRF hands it: DRF 3.18 reads
`request.body` first, where Django refuses a longer body itself (RequestDataTooBig, which each
API's handler answers 413 too), and the limit here does not depend on that. Both apps' APIs
take it through REST_FRAMEWORK's DEFAULT_PARSER_CLASSES; its errors are DRF exceptions, so each
API's own handler renders them in its `{"message", "code", "extra"}` shape.
"""

import json
import re

import numpy as np
from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

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
