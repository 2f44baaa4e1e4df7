"""Text messages to a phone, through the backend SMS_BACKEND names.

    SMS_BACKEND = "enrollment.sms.ConsoleBackend"   # prints each message (the demo's default)
    SMS_BACKEND = "enrollment.sms.LocmemBackend"    # keeps them in `outbox` (the tests)

A backend is a class with `send(message: SmsMessage) -> None` that raises SmsFailed when the
message did not leave; a carrier's HTTP gateway is one more such class, named in the same
setting. Messages are short, plain text, and carry no ID number.
"""

import sys
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


@cache
def _backend_class(path: str):
    return import_string(path)


def sms_send(*, phone: str, text: str) -> None:
    """Send one message through the configured backend."""
    _backend_class(settings.SMS_BACKEND)().send(SmsMessage(phone=phone, text=text))
