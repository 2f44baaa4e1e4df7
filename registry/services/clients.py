"""Department clients: the systems allowed to call the registry's API, and their keys."""

import hashlib
import secrets
from collections.abc import Sequence

from django.db import transaction

from registry.models import DepartmentClient


class ClientInvalid(ValueError):
    """The client cannot be issued as asked; the message says why."""


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def department_client_create(
    *, client_id: str, name: str, scopes: Sequence[str]
) -> tuple[DepartmentClient, str]:
    """Issue a client and its API key. Only the key's hash is kept: the key is returned once."""
    known = set(DepartmentClient.Scope.values)
    unknown = [scope for scope in scopes if scope not in known]
    if unknown:
        raise ClientInvalid(
            f"unknown scope {', '.join(unknown)}: one of {', '.join(sorted(known))}"
        )
    if not scopes:
        raise ClientInvalid("a client needs at least one scope")
    if not client_id.strip() or not name.strip():
        raise ClientInvalid("a client needs an id and a name")
    if DepartmentClient.objects.filter(client_id=client_id).exists():
        raise ClientInvalid(f"client {client_id} exists already")
    key = secrets.token_urlsafe(32)
    client = DepartmentClient.objects.create(
        client_id=client_id,
        name=name,
        api_key_hash=api_key_hash(key),
        scopes=list(dict.fromkeys(scopes)),
    )
    return client, key


def department_client_for_key(*, key: str) -> DepartmentClient | None:
    return DepartmentClient.objects.filter(api_key_hash=api_key_hash(key), is_active=True).first()
