"""Every page, API and download, for every role that must not see it.

The URL patterns come from the resolver, so a page or API added later is checked as soon as it
exists, and it must be declared in DECLARED with its audience before the suite passes. Who may
see a URL follows from where it lives (the product's naming):

| URL prefix                         | audience      | refused                                         |
|------------------------------------|---------------|-------------------------------------------------|
| api/v1/applications/, offers/, me/ | parent        | school, other school, officers, steward, anon;  |
| waiting-lists/, applications/,     |               | other parent too when the URL names an object   |
| apply/                             |               |                                                 |
| api/v1/officer/, staff/officer/    | officer       | parents, schools, steward, anon; the officer of |
|                                    |               | another district when the URL names a case      |
| api/v1/schools/, staff/school/     | school        | parents, officer of another district, steward,  |
|                                    |               | anon; the other school when the URL names it    |
| staff/steward/                     | steward       | everyone else                                   |
| staff/                             | staff         | parents, anon                                   |
| registry/api/                      | departments   | every signed-in person and anon (API key only)  |
| admin/                             | superusers    | every role here (sent to the admin's sign-in)   |
| healthz, login, logout, signup,    | everyone      | nobody                                          |
| api schema, set_language           |               |                                                 |
| anything else                      | signed-in     | anon                                            |

A refusal is a redirect to sign in (anonymous), 401, 403 or 404; every 401/403/404 must leave a
warning in the log that names the path, and no log line may carry an unmasked ID number. Each
audience's own role is also asked once (positive control), so a URL that refuses everyone by
mistake, or a matrix that refuses for the wrong reason, shows up too.
"""

import logging
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

PUBLIC_NAMES = {"healthz", "login", "logout", "signup", "api-schema", "set_language"}
ROLES = ["parent", "other_parent", "school", "other_school", "officer_other_district", "steward"]
ALL = [*ROLES, "anonymous"]
# First match wins.
AUDIENCES = [
    ("admin/", "admin"),
    ("registry/api/", "department"),
    ("api/v1/applications/", "parent"),
    ("api/v1/offers/", "parent"),
    ("api/v1/waiting-lists/", "parent"),
    ("api/v1/me/", "parent"),
    ("api/v1/officer/", "officer"),
    ("api/v1/schools/", "school"),
    ("staff/officer/", "officer"),
    ("staff/school/", "school"),
    ("staff/steward/", "steward"),
    ("staff/", "staff"),
    ("applications/", "parent"),
    ("apply/", "parent"),
]
# Every URL the product serves, by name, with the audience it is meant for. A new URL fails
# test_every_url_pattern_is_in_the_matrix until it is declared here, so that nobody's page
# falls silently under "signed-in" (anonymous refused, every role admitted).
DECLARED = {
    "set_language": "public",
    "login": "public",
    "logout": "public",
    "signup": "public",
    "healthz": "public",
    "api-schema": "public",
    "admin:index": "admin",
    "home": "signed-in",
    "api-subject-access": "parent",
    "api-application-submit": "parent",
    "api-application-detail": "parent",
    "api-evidence-submit": "parent",
    "api-offers": "parent",
    "api-waiting-lists": "parent",
    "api-offer-answer": "parent",
    "api-recheck-request": "parent",
    "apply-start": "parent",
    "apply-check": "parent",
    "apply-step": "parent",
    "application-detail": "parent",
    "application-live": "parent",
    "application-evidence": "parent",
    "application-evidence-file": "parent",
    "application-lookups": "parent",
    "application-offer-answer": "parent",
    "application-recheck": "parent",
    "api-officer-decisions": "officer",
    "api-officer-review-queue": "officer",
    "api-officer-evidence-review": "officer",
    "api-officer-decision-override": "officer",
    "api-officer-reverify": "officer",
    "api-officer-what-if": "officer",
    "api-allocation-runs": "officer",
    "api-allocation-run": "officer",
    "api-allocation-compare": "officer",
    "api-allocation-publish": "officer",
    "api-officer-rechecks": "officer",
    "api-officer-recheck-resolve": "officer",
    "api-school-demand": "officer",
    "api-officer-school-update": "officer",
    "staff:officer-dashboard": "officer",
    "staff:officer-review": "officer",
    "staff:officer-case": "officer",
    "staff:officer-case-evidence": "officer",
    "staff:officer-case-override": "officer",
    "staff:officer-case-retry": "officer",
    "staff:officer-evidence-file": "officer",
    "staff:officer-whatif": "officer",
    "staff:officer-allocation": "officer",
    "staff:officer-runs-compare": "officer",
    "staff:officer-run": "officer",
    "staff:officer-run-progress": "officer",
    "staff:officer-run-publish": "officer",
    "staff:officer-rechecks": "officer",
    "staff:officer-recheck": "officer",
    "staff:officer-schools": "officer",
    "api-school-applicants-csv": "school",
    "api-school-admitted-csv": "school",
    "api-school-admitted-xlsx": "school",
    "api-school-enrolments": "school",
    "api-school-enrolments-close": "school",
    "staff:school-admitted": "school",
    "staff:school-download-csv": "school",
    "staff:school-download-xlsx": "school",
    "staff:school-enrolment": "school",
    "staff:steward-imports": "steward",
    "staff:steward-import": "steward",
    "staff:steward-audit": "steward",
    "staff:home": "staff",
    "registry-verify-families": "department",
    "registry-audit-lookups": "department",
    "registry-record-push": "department",
}
OBJECT_KWARGS = {"ref", "evidence_id", "pk", "offer_id", "recheck_id", "run_id", "other_id"}
CONVERTER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def url_patterns() -> list[tuple[str, str]]:
    """(route, name) for every URL the product serves, admin reduced to its index."""
    found = []

    def walk(patterns, prefix, namespace):
        for entry in patterns:
            route = str(entry.pattern)
            if isinstance(entry, URLResolver):
                if route == "admin/":
                    found.append((prefix + route, "admin:index"))
                    continue
                walk(entry.url_patterns, prefix + route, entry.namespace or namespace)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                found.append((prefix + route, name or ""))

    walk(get_resolver().url_patterns, "", None)
    return found


def audience_of(route: str, name: str) -> str:
    if name.split(":")[-1] in PUBLIC_NAMES or route.startswith("i18n/"):
        return "public"
    if route == "":
        return "signed-in"
    for prefix, audience in AUDIENCES:
        if route.startswith(prefix) or route.startswith("^" + prefix):
            return audience
    return "signed-in"


def refused_roles(audience: str, kwargs: set[str]) -> list[str]:
    names_object = bool(kwargs & OBJECT_KWARGS)
    if audience == "public":
        return []
    if audience in ("signed-in",):
        return ["anonymous"]
    if audience == "staff":
        return ["parent", "other_parent", "anonymous"]
    if audience == "steward":
        return [role for role in ALL if role != "steward"]
    if audience in ("department", "admin"):
        return ALL
    if audience == "parent":
        others = ["school", "other_school", "officer_other_district", "steward", "anonymous"]
        return (["other_parent"] if names_object else []) + others
    if audience == "officer":
        others = ["parent", "other_parent", "school", "other_school", "steward", "anonymous"]
        scoped = kwargs & {"ref", "evidence_id", "pk"}
        return (["officer_other_district"] if scoped else []) + others
    if audience == "school":
        others = ["parent", "other_parent", "officer_other_district", "steward", "anonymous"]
        return (["other_school"] if "code" in kwargs else []) + others
    raise AssertionError(f"no rule for audience {audience}")


OWN_ROLE = {
    "parent": "parent",
    "officer": "officer",
    "school": "school",
    "steward": "steward",
    "staff": "officer",
    "signed-in": "parent",
}


def fill(route: str, world) -> str:
    """The route with its parameters set to the owner's objects (the parent's application,
    the first school, the parent's evidence); ids of objects that do not exist stay 1."""
    values = {
        "ref": world.application.ref,
        "code": "S440604001",
        "evidence_id": str(world.evidence.pk),
        "pk": str(world.evidence.pk),
        "step": "child",
    }

    def value(match):
        if match["name"] in values:
            return values[match["name"]]
        return "1" if match["conv"] == "int" else "x"

    return "/" + CONVERTER.sub(value, route.lstrip("^").rstrip("$"))


def kwargs_of(route: str) -> set[str]:
    return {m["name"] for m in CONVERTER.finditer(route)}


def client_for(world, role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(getattr(world, role if role != "officer" else "officer"))
    return client


# Valid enough for every form and API that exists, so that a refusal comes from the scope
# check and not from input validation that happens to run first.
QUERY = {"year": 2027}
BODY = {
    "year": 2027,
    "fact": "housing",
    "kind": "commitment",
    "statement": "access check",
    "accept": "true",
    "outcome": "eligible",
    "answer": "accept",
    "reason": "access check",
    "enrolment": "enrolled",
}


def ask(client: Client, url: str, ref: str):
    response = client.get(url, QUERY)
    if response.status_code == 405:
        response = client.post(url, {**BODY, "ref": ref})
    return response


def is_login_redirect(response) -> bool:
    if response.status_code != 302:
        return False
    location = response.headers.get("Location", "")
    return (
        location.startswith(settings.LOGIN_URL)
        or "/accounts/login/" in location
        or ("/admin/login/" in location)
    )


def test_every_url_refuses_every_role_outside_its_audience(world, caplog):
    caplog.set_level(logging.WARNING)
    clients = {role: client_for(world, role) for role in [*ALL, "officer"]}
    problems, checked = [], 0
    patterns = url_patterns()
    # the resolver really was walked: the product's known URLs are among the patterns
    names = {name for _, name in patterns}
    assert {"api-application-detail", "api-subject-access", "healthz", "admin:index"} <= names

    for route, name in patterns:
        url = fill(route, world)
        kwargs = kwargs_of(route)
        audience = audience_of(route, name)
        for role in refused_roles(audience, kwargs):
            caplog.clear()
            response = ask(clients[role], url, world.application.ref)
            checked += 1
            status = response.status_code
            if role == "anonymous" or audience == "admin":
                refused = is_login_redirect(response) or status in (401, 403, 404)
            else:
                refused = status in (401, 403, 404)
            if not refused:
                problems.append(f"{role} {url} ({name}, {audience}) -> {status}, not refused")
                continue
            if status in (401, 403, 404) and not any(
                record.levelno >= logging.WARNING and url.split("?")[0] in record.getMessage()
                for record in caplog.records
            ):
                problems.append(f"{role} {url} ({name}) -> {status}, refusal not logged")
        own = OWN_ROLE.get(audience)
        if own and not (kwargs - {"ref", "code", "evidence_id", "pk", "step"}):
            response = clients[own].get(url, QUERY)
            if response.status_code in (401, 403) or is_login_redirect(response):
                problems.append(f"{own} {url} ({name}) -> {response.status_code}: own role refused")

    assert problems == [], "\n".join(problems)
    assert checked > 3 * len(patterns) // 2
    for record in caplog.records:
        for number in world.id_numbers:
            assert number not in record.getMessage()


def test_anonymous_may_reach_the_public_urls_only(world):
    client = Client()

    assert client.get("/api/v1/healthz/").json() == {"ok": True}
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/api/v1/me/data/").status_code == 403
    assert is_login_redirect(client.get("/"))


def test_every_url_pattern_is_in_the_matrix():
    served = {name or route: audience_of(route, name) for route, name in url_patterns()}

    missing = sorted(set(served) - set(DECLARED))
    gone = sorted(set(DECLARED) - set(served))
    misread = sorted(
        f"{name}: the matrix reads {served[name]}, declared {DECLARED[name]}"
        for name in set(served) & set(DECLARED)
        if served[name] != DECLARED[name]
    )
    assert missing == [], f"URL patterns not in the access matrix: {missing}"
    assert gone == [], f"declared but no longer served: {gone}"
    assert misread == [], "\n".join(misread)
