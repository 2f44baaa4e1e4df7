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
| staff/                             | staff         | parents, auditor, anon                          |
| identity/                          | parent        | every other role, anon                          |
| registry/api/                      | departments   | every signed-in person and anon (API key only)  |
| admin/                             | superusers    | every role here (sent to the admin's sign-in)   |
| healthz, login, logout, signup,    | everyone      | nobody                                          |
| api schema, set_language           |               |                                                 |
| anything else                      | signed-in     | anon                                            |

The auditor (Role.AUDITOR) is asked everywhere too. The product has no page for that role
yet: it is refused wherever a parent, an officer, a school or a steward is the audience, and
reaches only the public pages and what every signed-in account has (its home, which sends
staff to the staff start page, and changing its password); the staff start page refuses it
(test_the_auditor_reaches_only_the_public_pages_and_its_own_account).

Each refusal has one exact answer, and the rule is the product's:

- anonymous on a page: 302 to /accounts/login/?next=<the path asked>, from login_required and
  the staff pages' decorator; on /admin/ every role here is sent to /admin/login/?next=<path>;
- anonymous on api/v1/: 403, because SessionAuthentication comes first among DRF's
  authentication classes and offers no WWW-Authenticate challenge, so NotAuthenticated is 403;
- anyone on registry/api/: 401, because only an API key authenticates there and it does
  challenge (`WWW-Authenticate: Api-Key`); a signed-in session counts for nothing;
- a signed-in role the view does not admit: 403, checked before any object is looked up;
- a role the view admits, asking for an object that is not theirs (another parent's
  application, another district's case, another school): 404, as if it did not exist;
- one deliberate exception, HIDDEN_FROM_OTHER_ROLES: the admitted-list API answers every
  signed-in user but its school's staff with 404, and records the refusal as a denied download.

Every URL is asked with each method it serves (a write URL is posted to, not only fetched),
and every refused POST/PUT/PATCH/DELETE must leave every row of every enrollment and registry
table as it was, but for the denial record of an admitted-list download (DENIAL_RECORDED). Every
401/403/404 must leave a warning in the log that names the path, every redirect to a sign-in
page an `enrollment.access` record that names it, and no log line may carry an unmasked ID
number. Each audience's own role is also asked once (positive control), so a URL that
refuses everyone by mistake, or a matrix that refuses for the wrong reason, shows up too.
"""

import json
import logging
import re
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from enrollment.models import DownloadLog
from tests.security.conftest import stored_rows

pytestmark = pytest.mark.django_db

PUBLIC_NAMES = {"healthz", "login", "logout", "signup", "api-schema", "set_language"}
ROLES = [
    "parent",
    "other_parent",
    "school",
    "other_school",
    "officer_other_district",
    "steward",
    "auditor",
]
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
    ("identity/", "parent"),
    ("inbox/", "parent"),
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
    "password-change": "signed-in",
    "identity-verify": "parent",
    "inbox": "parent",
    "api-identity": "parent",
    "api-identity-confirm": "parent",
    "api-identity-resend": "parent",
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
    "apply-communities": "parent",
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
    "api-officer-finding": "officer",
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
    "staff:officer-case-finding": "officer",
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
    "staff:officer-map": "officer",
    "staff:officer-map-csv": "officer",
    "staff:officer-map-geojson": "officer",
    "api-school-applicants-csv": "school",
    "api-school-admitted-csv": "school",
    "api-school-admitted-xlsx": "school",
    "api-school-enrolments": "school",
    "api-school-enrolments-close": "school",
    "staff:school-admitted": "school",
    "staff:school-download-csv": "school",
    "staff:school-download-xlsx": "school",
    "staff:school-enrolment": "school",
    "steward:imports": "steward",
    "steward:import": "steward",
    "steward:import-rejections": "steward",
    "steward:quality": "steward",
    "steward:upload-new": "steward",
    "steward:upload": "steward",
    "steward:upload-progress": "steward",
    "steward:audit": "steward",
    "steward:notices": "steward",
    "steward:header-mappings": "steward",
    "staff:home": "staff",
    "registry-verify-families": "department",
    "registry-verify-identities": "department",
    "registry-audit-lookups": "department",
    "registry-record-push": "department",
    "registry-planning-cohorts": "department",
}
OBJECT_KWARGS = {"ref", "evidence_id", "pk", "offer_id", "recheck_id", "run_id", "other_id"}
CONVERTER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def served_views() -> list[tuple[str, str, object]]:
    """(route, name, view) for every URL the product serves, admin reduced to its index."""
    found = []

    def walk(patterns, prefix, namespace):
        for entry in patterns:
            route = str(entry.pattern)
            if isinstance(entry, URLResolver):
                if route == "admin/":
                    index = next(p for p in entry.url_patterns if p.name == "index")
                    found.append((prefix + route, "admin:index", index.callback))
                    continue
                walk(entry.url_patterns, prefix + route, entry.namespace or namespace)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                found.append((prefix + route, name or "", entry.callback))

    walk(get_resolver().url_patterns, "", None)
    return found


def url_patterns() -> list[tuple[str, str]]:
    """(route, name) for every URL the product serves, admin reduced to its index."""
    return [(route, name) for route, name, _view in served_views()]


WRITES = ("POST", "PUT", "PATCH", "DELETE")


def served_methods(view) -> list[str]:
    """The methods a view answers: an API view's handlers, or the list a page gives to
    require_http_methods (require_GET, require_POST); a page with no such list answers any
    method, so it is asked with GET and POST."""
    api = getattr(view, "cls", None)
    if api is not None:
        return [m for m in ("GET", *WRITES) if hasattr(api, m.lower())]
    layer = view
    while layer is not None:
        free = layer.__code__.co_freevars
        if "request_method_list" in free:
            listed = layer.__closure__[free.index("request_method_list")].cell_contents
            return [m for m in ("GET", *WRITES) if m in listed]
        layer = getattr(layer, "__wrapped__", None)
    return ["GET", "POST"]


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
        return ["parent", "other_parent", "auditor", "anonymous"]
    if audience == "steward":
        return [role for role in ALL if role != "steward"]
    if audience in ("department", "admin"):
        return ALL
    if audience == "parent":
        others = [
            "school",
            "other_school",
            "officer_other_district",
            "steward",
            "auditor",
            "anonymous",
        ]
        return (["other_parent"] if names_object else []) + others
    if audience == "officer":
        others = [
            "parent",
            "other_parent",
            "school",
            "other_school",
            "steward",
            "auditor",
            "anonymous",
        ]
        scoped = kwargs & {"ref", "evidence_id", "pk"}
        return (["officer_other_district"] if scoped else []) + others
    if audience == "school":
        others = [
            "parent",
            "other_parent",
            "officer_other_district",
            "steward",
            "auditor",
            "anonymous",
        ]
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
# The role each client of the matrix holds.
ROLE_OF = {
    "parent": "parent",
    "other_parent": "parent",
    "school": "school",
    "other_school": "school",
    "officer_other_district": "officer",
    "steward": "steward",
    "auditor": "auditor",
}
# The roles a URL's view lets past its role check, by audience.
ADMITTED = {
    "parent": {"parent"},
    "officer": {"officer"},
    "school": {"school"},
    "steward": {"steward"},
    "staff": {"officer", "school", "steward"},
    "signed-in": {"parent", "officer", "school", "steward", "auditor"},
}
# Views that admit a role beyond their audience: an officer offers the evidence of an
# application entered at the counter in their district (enrollment.services.review).
ALSO_ADMITTED = {"api-evidence-submit": {"officer"}}
# The admitted list holds full ID numbers; its API answers everyone but the school's own staff
# as if the school did not exist, and writes the attempt to the download log
# (SchoolAdmittedApi, tests/enrollment/services/test_exports.py). Its siblings answer other roles 403.
HIDDEN_FROM_OTHER_ROLES = {"api-school-admitted-csv", "api-school-admitted-xlsx"}
# A refused download of an admitted list is itself recorded: one DownloadLog row with
# allowed=False and the format asked, the only row a refusal writes (by design; anonymous
# visitors are stopped before the view and leave none). The download pages answer any method.
DENIAL_RECORDED = {
    "api-school-admitted-csv": "csv",
    "api-school-admitted-xlsx": "xlsx",
    "staff:school-download-csv": "csv",
    "staff:school-download-xlsx": "xlsx",
}
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


def login_location(login: str, full_path: str) -> str:
    """Where redirect_to_login sends a visitor: the sign-in page with `next` set to the path
    asked, query included, quoted as Django quotes it."""
    return f"{login}?next={quote(full_path, safe='/')}"


def expected_refusal(route: str, name: str, audience: str, role: str, full_path: str):
    """(status, Location) the product answers `role` with; see the module's docstring."""
    if audience == "admin":
        return 302, login_location(ADMIN_LOGIN, full_path)
    if audience == "department":
        return 401, None
    if role == "anonymous":
        if route.startswith("api/"):
            return 403, None
        return 302, login_location(LOGIN, full_path)
    if name in HIDDEN_FROM_OTHER_ROLES:
        return 404, None
    if ROLE_OF[role] in ADMITTED[audience] | ALSO_ADMITTED.get(name, set()):
        return 404, None
    return 403, None


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


def unexpected_writes(before: dict, after: dict, name: str, user) -> list[str]:
    """The tables a refusal changed beyond the denial record DENIAL_RECORDED expects."""
    changed = sorted(label for label in after if after[label] != before[label])
    if name not in DENIAL_RECORDED or user is None:
        return changed
    log = DownloadLog._meta.label
    earlier = before[log]
    last = earlier[-1][0] if earlier else 0
    added = list(
        DownloadLog.objects.filter(pk__gt=last).values_list("user_id", "allowed", "rows", "format")
    )
    if after[log][: len(earlier)] != earlier or added != [
        (user.pk, False, 0, DENIAL_RECORDED[name])
    ]:
        return changed
    return [label for label in changed if label != log]


def send(client: Client, method: str, url: str, ref: str):
    if method == "GET":
        return client.get(url, QUERY)
    body = {**BODY, "ref": ref}
    if method == "POST":
        return client.post(url, body)
    return client.generic(method, url, json.dumps(body), content_type="application/json")


def test_every_url_refuses_every_role_outside_its_audience(world, caplog):
    caplog.set_level(logging.INFO)
    clients = {role: client_for(world, role) for role in [*ALL, "officer"]}
    problems, checked, writes = [], 0, 0
    views = served_views()
    # the resolver really was walked: the product's known URLs are among the patterns
    names = {name for _, name, _view in views}
    assert {"api-application-detail", "api-subject-access", "healthz", "admin:index"} <= names

    for route, name, view in views:
        url = fill(route, world)
        kwargs = kwargs_of(route)
        audience = audience_of(route, name)
        methods = served_methods(view)
        for role in refused_roles(audience, kwargs):
            for method in methods:
                full_path = f"{url}?year={QUERY['year']}" if method == "GET" else url
                status, location = expected_refusal(route, name, audience, role, full_path)
                asked = f"{role} {method} {url} ({name}, {audience})"
                before = stored_rows() if method in WRITES else None
                caplog.clear()
                response = send(clients[role], method, url, world.application.ref)
                checked += 1
                got = (response.status_code, response.headers.get("Location"))
                if got != (status, location):
                    problems.append(f"{asked} -> {got}, expected {(status, location)}")
                if before is not None:
                    writes += 1
                    user = getattr(world, role, None)
                    written = unexpected_writes(before, stored_rows(), name, user)
                    if written:
                        problems.append(f"{asked} -> {got}: refused, but wrote to {written}")
                if status in (401, 403, 404) and not any(
                    record.levelno >= logging.WARNING and url in record.getMessage()
                    for record in caplog.records
                ):
                    problems.append(f"{asked} -> {got}: refusal not logged")
                if status == 302 and not any(
                    record.name == "enrollment.access"
                    and f"path={url} why=sign-in required" in record.getMessage()
                    for record in caplog.records
                ):
                    problems.append(f"{asked} -> {got}: sent to sign in, not logged")
        own = OWN_ROLE.get(audience)
        if own and "GET" in methods and not (kwargs - {"ref", "code", "evidence_id", "pk", "step"}):
            response = clients[own].get(url, QUERY)
            sent_to_sign_in = response.headers.get("Location", "").startswith(LOGIN)
            if response.status_code in (401, 403) or sent_to_sign_in:
                problems.append(f"{own} {url} ({name}) -> {response.status_code}: own role refused")

    assert problems == [], "\n".join(problems)
    assert checked > 3 * len(views) // 2
    assert writes > len(views)
    for record in caplog.records:
        for number in world.id_numbers:
            assert number not in record.getMessage()


def test_anonymous_may_reach_the_public_urls_only(world):
    client = Client()

    assert client.get("/api/v1/healthz/").json() == {"ok": True}
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/api/v1/me/data/").status_code == 403
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/")


def test_served_methods_follow_the_views_own_declarations():
    views = {name: view for _route, name, view in served_views()}

    assert served_methods(views["api-offer-answer"]) == ["POST"]
    assert served_methods(views["api-officer-school-update"]) == ["PATCH"]
    assert served_methods(views["api-evidence-submit"]) == ["POST"]
    assert served_methods(views["application-detail"]) == ["GET"]
    assert served_methods(views["application-recheck"]) == ["POST"]
    assert served_methods(views["apply-step"]) == ["GET", "POST"]
    assert served_methods(views["staff:officer-run-publish"]) == ["POST"]
    assert served_methods(views["staff:officer-run"]) == ["GET", "POST"]


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


def test_the_auditor_reaches_only_the_public_pages_and_its_own_account(world):
    reached = sorted(
        name
        for route, name in url_patterns()
        if "auditor" not in refused_roles(audience_of(route, name), kwargs_of(route))
    )
    client = client_for(world, "auditor")

    assert reached == [
        "api-schema",
        "healthz",
        "home",
        "login",
        "logout",
        "password-change",
        "set_language",
        "signup",
    ]
    home = client.get("/")
    assert (home.status_code, home["Location"]) == (302, "/staff/")
    assert client.get("/staff/").status_code == 403
    assert client.get("/accounts/password/").status_code == 200
