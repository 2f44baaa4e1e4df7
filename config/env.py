"""The one place that reads the process environment.

Every setting the product takes from outside is declared here with its default, so the README's
table of variables and the code cannot drift apart.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A developer may keep their variables in `.env` at the project root; the real environment wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def require(name: str) -> str:
    """Return a variable that has no safe default, or stop start-up naming it."""
    from django.core.exceptions import ImproperlyConfigured

    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} is required and is not set.")
    return value
