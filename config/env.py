"""The one place that reads the process environment.

Every setting the product takes from outside is declared here with its default, so the README's
table of variables and the code cannot drift apart.
"""

import re
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A developer may keep their variables in `.env` at the project root; the real environment wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,16}")


def require(name: str) -> str:
    """Return a variable that has no safe default, or stop start-up naming it."""
    from django.core.exceptions import ImproperlyConfigured

    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} is required and is not set.")
    return value


def key_ring(name: str, *, default: str | None = None, min_length: int = 1) -> dict[str, str]:
    """`id:key,id:key,…` from the environment, oldest first: the last key is the one to write
    with, the others stay for checking what they wrote. No default: the variable is required.

    Errors name the variable and the key id, never a key.
    """
    from django.core.exceptions import ImproperlyConfigured

    text = require(name) if default is None else env.str(name, default=default)
    ring: dict[str, str] = {}
    for number, pair in enumerate(text.split(","), start=1):
        key_id, _, key = pair.strip().partition(":")
        if not _KEY_ID.fullmatch(key_id) or not key:
            raise ImproperlyConfigured(
                f"{name} must be id:key pairs separated by commas, each id of up to 16 "
                f"letters, digits, '.', '_' or '-'; pair {number} is not."
            )
        if key_id in ring:
            raise ImproperlyConfigured(f"{name} names the key id {key_id} twice.")
        if len(key) < min_length:
            raise ImproperlyConfigured(
                f"{name}: the key {key_id} is shorter than {min_length} characters."
            )
        ring[key_id] = key
    return ring
