"""Department clients: the systems allowed to call the registry's API, and their keys."""

import hashlib
import secrets
from collections.abc import Sequence

from django.db import transaction

from registry.consent import ConsentKeyInvalid, public_key_load, public_key_text
from registry.models import DepartmentClient


class ClientInvalid(ValueError):
    """The client cannot be issued as asked; the message says why."""


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _consent_key(text: str) -> str:
    """A department's consent public key in the one form the registry stores, or
    ClientInvalid saying what is wrong with it."""
    try:
        return public_key_text(public_key_load(text.strip()))
    except ConsentKeyInvalid as error:
        raise ClientInvalid(f"the consent public key is not usable: {error}") from None


@transaction.atomic
def department_client_create(
    *, client_id: str, name: str, scopes: Sequence[str], consent_public_key: str = ""
) -> tuple[DepartmentClient, str]:
    """Issue a client and its API key. Only the key's hash is kept: the key is returned once.

    `consent_public_key` is the department's Ed25519 public key that checks its consent
    tokens; without one the client can push records and read the audit log, but every
    verification question it asks is refused (CONSENT_KEY_UNKNOWN) until a key is added.
    """
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
    consent_keys = [_consent_key(consent_public_key)] if consent_public_key.strip() else []
    if DepartmentClient.objects.filter(client_id=client_id).exists():
        raise ClientInvalid(f"client {client_id} exists already")
    key = secrets.token_urlsafe(32)
    client = DepartmentClient.objects.create(
        client_id=client_id,
        name=name,
        api_key_hash=api_key_hash(key),
        scopes=list(dict.fromkeys(scopes)),
        consent_public_keys=consent_keys,
    )
    return client, key


def _client_for_update(client_id: str) -> DepartmentClient:
    client = DepartmentClient.objects.select_for_update().filter(client_id=client_id).first()
    if client is None:
        raise ClientInvalid(f"there is no client {client_id}")
    return client


@transaction.atomic
def department_client_consent_key_add(*, client_id: str, public_key: str) -> DepartmentClient:
    """Register another consent key for a client, ahead of the ones it has: tokens signed
    with either are accepted until the older one is retired (a rotation's overlap). Adding
    a key the client has already changes nothing."""
    text = _consent_key(public_key)
    client = _client_for_update(client_id)
    if text not in client.consent_public_keys:
        client.consent_public_keys = [text, *client.consent_public_keys]
        client.save(update_fields=["consent_public_keys"])
    return client


@transaction.atomic
def department_client_consent_key_retire(*, client_id: str, public_key: str) -> DepartmentClient:
    """Stop accepting consent tokens signed with this key; from now on they are refused."""
    text = _consent_key(public_key)
    client = _client_for_update(client_id)
    if text not in client.consent_public_keys:
        raise ClientInvalid(f"client {client_id} has no such consent key")
    client.consent_public_keys = [k for k in client.consent_public_keys if k != text]
    client.save(update_fields=["consent_public_keys"])
    return client


def department_client_for_key(*, key: str) -> DepartmentClient | None:
    return DepartmentClient.objects.filter(api_key_hash=api_key_hash(key), is_active=True).first()
