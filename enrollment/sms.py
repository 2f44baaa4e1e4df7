"""Text messages to a phone, through the backend SMS_BACKEND names.

    SMS_BACKEND = "enrollment.sms.ConsoleBackend"   # prints each message (the demo's default)
    SMS_BACKEND = "enrollment.sms.LocmemBackend"    # keeps them in `outbox` (the tests)
    SMS_BACKEND = "enrollment.sms.HttpGatewayBackend"  # a carrier's HTTP gateway (production)

A backend is a class with `send(message: SmsMessage) -> None` that raises SmsFailed when the
message did not leave; a carrier's HTTP gateway is one more such class, named in the same
setting. Messages are short, plain text, and carry no ID number. `send` may return the
gateway's answer (its message id), which the delivery log keeps.
"""

import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

# What LocmemBackend sent, oldest first; tests read and empty it.
outbox: list["SmsMessage"] = []


class SmsFailed(Exception):
    """The message could not be handed to the carrier; the caller may offer to send again."""


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str
    # The outbox row's key: a gateway that deduplicates by client id never delivers one
    # message twice, even when a worker died between the gateway's answer and its own commit.
    key: str = ""


class ConsoleBackend:
    """Writes each message to standard output: where `make demo` shows the one-time codes."""

    def __init__(self, stream=None):
        self.stream = stream

    def send(self, message: SmsMessage) -> None:
        stream = self.stream or sys.stdout
        stream.write(f"[SMS to {message.phone}] {message.text}\n")
        stream.flush()


class LocmemBackend:
    """Keeps each message in `enrollment.sms.outbox`."""

    def send(self, message: SmsMessage) -> None:
        outbox.append(message)


class HttpGatewayBackend:
    """A carrier's HTTP SMS gateway: one JSON POST a message to SMS_GATEWAY_URL,

        {"to": "13800138000", "text": "…", "sender": SMS_GATEWAY_SENDER, "client_id": key}

    with `Authorization: Bearer SMS_GATEWAY_TOKEN`, answered with a 2xx and a JSON body whose
    `id` names the message. Anything else (a 4xx or 5xx, a timeout, a refused connection) is
    SmsFailed with the gateway's answer, which the worker logs and retries with a backoff.
    Most carriers' APIs (阿里云短信, 腾讯云短信, Twilio) fit behind a small proxy of this
    shape; a carrier with its own signing is one more class."""

    def send(self, message: SmsMessage) -> str:
        body = json.dumps(
            {
                "to": message.phone,
                "text": message.text,
                "sender": settings.SMS_GATEWAY_SENDER,
                "client_id": message.key,
            },
            ensure_ascii=False,
        ).encode()
        request = urllib.request.Request(  # noqa: S310 (the URL is the operator's setting)
            settings.SMS_GATEWAY_URL,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}",
            },
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=settings.SMS_GATEWAY_TIMEOUT
            ) as response:
                answer = response.read(2000).decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            detail = error.read(200).decode("utf-8", "replace")
            raise SmsFailed(f"HTTP {error.code}: {detail}") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise SmsFailed(f"gateway unreachable: {error}") from error
        try:
            return str(json.loads(answer).get("id", ""))[:100]
        except (ValueError, AttributeError):
            return answer[:100]


@cache
def _backend_class(path: str):
    return import_string(path)


def sms_send(*, phone: str, text: str, key: str = "") -> str:
    """Send one message through the configured backend; returns the gateway's answer."""
    answer = _backend_class(settings.SMS_BACKEND)().send(
        SmsMessage(phone=phone, text=text, key=key)
    )
    return answer or ""
