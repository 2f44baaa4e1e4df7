"""Hostile input at every entrance gets a clear 4xx in plain words, never a server error.

ID numbers typed with a Chinese input method (full-width digits, an ideographic space, `ｘ`)
are the same number as in ASCII everywhere; digits of other scripts, which Python's `\\d`
and int() accept but the check character's arithmetic does not, are refused naming the field.
Bodies nested 50,000 deep, larger than the limit, or holding text that is not Unicode are
refused in the API's JSON shape, and an unexpected error inside an API view answers in that
shape too.
"""

import io
import json
import logging
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from enrollment.models import Application
from registry import idnumber
from registry.contract import FamilyQuestion, to_json
from registry.loading.imports import registry_import_file
from registry.loading.uploads import feed_upload_create
from registry.models import AuditEntry, FeedUpload, HukouRecord, ImportBatch, PropertyRecord
from registry.services.clients import department_client_create
from tests.conftest import HOME, YEAR
from tests.enrollment.portal.parents.conftest import signed_in
from tests.registry.factories import signed
from tests.security.conftest import stored_rows

pytestmark = pytest.mark.django_db

CHILD = idnumber.make("440604", date(2020, 3, 15), 123)
MOTHER = idnumber.make("440604", date(1990, 7, 1), 222)
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
SHAPE = "must be 17 digits followed by a digit or X"


def full_width(number: str) -> str:
    """As a Chinese input method types it: full-width digits, a full-width x, spaces around."""
    return "\u3000" + number.translate(FULL_WIDTH) + " "


def arabic_indic(number: str) -> str:
    return number.translate(ARABIC_INDIC)


def api_with(key: str) -> APIClient:
    api = APIClient(raise_request_exception=False)
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return api


def registry_client(*scopes: str, client_id: str = "gov-440604") -> APIClient:
    _, key = department_client_create(client_id=client_id, name="部门", scopes=list(scopes))
    return api_with(key)


def parent_api(user) -> APIClient:
    api = APIClient(raise_request_exception=False)
    api.force_authenticate(user)
    return api


HUKOU = {
    "name": "陈小明",
    "sex": "M",
    "birth_date": "2020-03-15",
    "hukou_district_code": "440604",
    "community_code": HOME,
    "address": "祖庙路1号",
    "registered_on": "2020-04-01",
    "household_no": "H1",
}


# --- full-width and other scripts' digits, entrance by entrance -----------------------------


def test_the_push_api_stores_a_full_width_number_as_ascii_and_refuses_other_digits():
    api = registry_client("push")

    typed = api.post(
        "/registry/api/v1/records/",
        {"source": "hukou", "record": {**HUKOU, "id_number": full_width(CHILD)}},
        format="json",
    )
    foreign = api.post(
        "/registry/api/v1/records/",
        {"source": "hukou", "record": {**HUKOU, "id_number": arabic_indic(MOTHER)}},
        format="json",
    )

    assert (typed.status_code, typed.json()["outcome"]) == (201, "inserted")
    assert list(HukouRecord.objects.values_list("id_number", flat=True)) == [CHILD]
    assert foreign.status_code == 400
    assert foreign.json() == {
        "message": f"id_number: {SHAPE}",
        "code": "record_invalid",
        "extra": {"field": "id_number"},
    }
    assert ImportBatch.objects.count() == 1


def _question(child: str, guardian: str) -> dict:
    """The question as JSON with the numbers as sent; its consent token is the education
    bureau's, signed over the same numbers in ASCII."""
    question = signed(
        FamilyQuestion(
            key="A1",
            consent_reference="consent-1",
            end_user="user:7",
            child_id_number=CHILD,
            guardian_id_numbers=(MOTHER,),
            home_community_code=HOME,
            cutoff=date(2027, 3, 31),
            district_code="440604",
            city_code="4406",
        ),
        purpose="enrollment-2027",
    )
    return {**to_json(question), "child_id_number": child, "guardian_id_numbers": [guardian]}


def test_the_verify_api_answers_a_full_width_number_as_the_ascii_one_and_refuses_others(
    education_bureau,
):
    registry_client("push").post(
        "/registry/api/v1/records/",
        {"source": "hukou", "record": {**HUKOU, "id_number": CHILD}},
        format="json",
    )
    api = api_with(education_bureau.api_key)
    headers = {"HTTP_X_ROAD_PURPOSE": "enrollment-2027"}

    ascii_answer = api.post(
        "/registry/api/v1/verify/families/",
        {"questions": [_question(CHILD, MOTHER)]},
        format="json",
        **headers,
    )
    typed_answer = api.post(
        "/registry/api/v1/verify/families/",
        {"questions": [_question(full_width(CHILD), full_width(MOTHER))]},
        format="json",
        **headers,
    )
    audited = AuditEntry.objects.count()
    foreign = api.post(
        "/registry/api/v1/verify/families/",
        {"questions": [_question(CHILD, arabic_indic(MOTHER))]},
        format="json",
        **headers,
    )

    def without_audit_id(response):
        return [{**answer, "audit_entry_id": None} for answer in response.json()["answers"]]

    assert (ascii_answer.status_code, typed_answer.status_code) == (200, 200)
    assert without_audit_id(typed_answer) == without_audit_id(ascii_answer)
    assert typed_answer.json()["answers"][0]["child_hukou"]["hukou_class"] == "D"
    assert foreign.status_code == 400
    assert foreign.json()["message"] == f"questions.0.guardian_id_numbers.0: {SHAPE}"
    assert foreign.json()["code"] == "invalid"
    assert AuditEntry.objects.count() == audited


def test_the_audit_api_finds_lookups_by_a_full_width_number(education_bureau):
    api = api_with(education_bureau.api_key)
    api.post(
        "/registry/api/v1/verify/families/",
        {"questions": [_question(CHILD, MOTHER)]},
        format="json",
        HTTP_X_ROAD_PURPOSE="enrollment-2027",
    )

    found = api.post(
        "/registry/api/v1/audit/lookups/", {"id_numbers": [full_width(MOTHER)]}, format="json"
    )
    foreign = api.post(
        "/registry/api/v1/audit/lookups/", {"id_numbers": [arabic_indic(MOTHER)]}, format="json"
    )

    assert found.status_code == 200
    assert [row["outcome"] for row in found.json()["lookups"]] == ["answered"]
    assert foreign.status_code == 400
    assert foreign.json()["message"] == f"id_numbers.0: {SHAPE}"


def _submission(child: str, guardian: str, consent: str) -> dict:
    return {
        "admission_year": YEAR,
        "child": {"name": "陈小明", "id_number": child},
        "guardians": [{"name": "李美玲", "id_number": guardian, "relation": "mother"}],
        "home_community_code": HOME,
        "preferences": ["S440604001"],
        "consent_given_by": consent,
    }


def test_the_enrollment_api_takes_a_full_width_number_as_ascii(district, parent):
    response = parent_api(parent).post(
        "/api/v1/applications/",
        _submission(full_width(CHILD), full_width(MOTHER), full_width(MOTHER).lower()),
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["child_id_number"] == "440604********1230"
    application = Application.objects.get()
    assert application.child_id_number == CHILD
    assert [g.id_number for g in application.guardians.all()] == [MOTHER]
    assert application.consent.given_by_id_number == MOTHER


@pytest.mark.parametrize(
    ("child", "guardian", "field"),
    [
        (arabic_indic(CHILD), MOTHER, "child.id_number"),
        (CHILD, arabic_indic(MOTHER), "guardians.0.id_number"),
        (CHILD[:6] + "\u0966" * 11 + "X", MOTHER, "child.id_number"),
    ],
)
def test_the_enrollment_api_refuses_other_digits_naming_the_field(
    district, parent, child, guardian, field
):
    before = stored_rows()

    response = parent_api(parent).post(
        "/api/v1/applications/", _submission(child, guardian, MOTHER), format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": f"{field}: {SHAPE}",
        "code": "invalid",
        "extra": {"errors": [{"field": field, "message": SHAPE}]},
    }
    assert stored_rows() == before


def test_the_apply_form_takes_a_full_width_number_and_explains_other_digits(district, parent):
    client = signed_in(parent)
    client.raise_request_exception = False

    foreign = client.post(
        reverse("apply-step", args=["child"]),
        {"child_name": "陈小明", "child_id_number": arabic_indic(CHILD)},
    )
    checked = client.post(
        reverse("apply-check"),
        {"field": "child_id_number", "child_id_number": arabic_indic(CHILD)},
    )
    typed = client.post(
        reverse("apply-step", args=["child"]),
        {"child_name": "陈小明", "child_id_number": full_width(CHILD)},
    )

    message = "身份证号码前 17 位应是数字，最后一位是数字或字母 X。"
    assert foreign.status_code == 200
    assert message in foreign.content.decode()
    assert (checked.status_code, message in checked.content.decode()) == (200, True)
    assert typed.status_code == 302
    assert typed["Location"] == reverse("apply-step", args=["guardians"])
    assert client.session["application_draft"]["child"]["child_id_number"] == CHILD


def test_the_apply_form_checks_a_full_width_guardian_number_against_the_child(district, parent):
    client = signed_in(parent)
    client.raise_request_exception = False
    client.post(
        reverse("apply-step", args=["child"]),
        {"child_name": "陈小明", "child_id_number": CHILD},
    )

    response = client.post(
        reverse("apply-step", args=["guardians"]),
        {
            "guardian1_name": "李美玲",
            "guardian1_relation": "mother",
            "guardian1_id_number": full_width(CHILD),
        },
    )

    assert response.status_code == 200
    assert "监护人的身份证号码不能与孩子的相同。" in response.content.decode()


HUKOU_HEADER = (
    "id_number,name,sex,birth_date,hukou_district_code,community_code,address,"
    "registered_on,household_no"
)


def _feed_with_hostile_rows() -> bytes:
    rows = [
        HUKOU_HEADER,
        f"{CHILD},陈小明,M,2020-03-15,440604,{HOME},,2020-04-01,H1",
        f"{arabic_indic(MOTHER)},李美玲,F,1990-07-01,440604,{HOME},,2019-01-01,H1",
        f"{full_width(MOTHER).strip()},李美玲,F,1990-07-01,440604,{HOME},,2019-01-01,H1",
    ]
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_a_feed_row_of_other_digits_is_rejected_with_its_reason_and_the_rest_load(tmp_path, method):
    feed = tmp_path / "hukou.csv"
    feed.write_bytes(_feed_with_hostile_rows())

    report = registry_import_file(source="hukou", path=feed, method=method)

    assert (report.failed, report.rows_read, report.inserted, report.rejected) == (
        False,
        3,
        2,
        1,
    )
    assert report.rejections == [(3, f"id_number: {SHAPE}")]
    assert sorted(HukouRecord.objects.values_list("id_number", flat=True)) == sorted(
        [CHILD, MOTHER]
    )


@pytest.mark.parametrize("method", ["copy", "orm"])
def test_a_share_in_other_digits_is_rejected_and_a_full_width_one_loads(tmp_path, method):
    feed = tmp_path / "property.csv"
    feed.write_text(
        "certificate_no,owner_id_number,share_percent,community_code,address,registered_on\n"
        f"C1,{MOTHER},５０,{HOME},,2019-01-01\n"
        f"C2,{MOTHER},٥٠,{HOME},,2019-01-01\n"
        f"C3,{MOTHER},50,{HOME},,2019-01-01\n",
        encoding="utf-8",
    )

    report = registry_import_file(source="property", path=feed, method=method)

    assert (report.failed, report.inserted, report.rejections) == (
        False,
        2,
        [(3, "share_percent: not a number")],
    )
    assert sorted(PropertyRecord.objects.values_list("certificate_no", "share_percent")) == [
        ("C1", Decimal("50.00")),
        ("C3", Decimal("50.00")),
    ]


def test_a_handed_in_feed_with_other_digits_loads_its_good_rows_in_the_worker(
    media, django_capture_on_commit_callbacks
):
    # The task runs in-process (Celery is eager in tests) after the commit, as a worker would.
    with django_capture_on_commit_callbacks(execute=True):
        upload = feed_upload_create(
            source="hukou",
            file=SimpleUploadedFile(
                "hukou.csv", _feed_with_hostile_rows(), content_type="text/csv"
            ),
            encoding="utf-8",
            as_of=date(2027, 3, 1),
            submitted_by="steward1",
        )

    upload = FeedUpload.objects.get(pk=upload.pk)
    assert upload.status == FeedUpload.Status.DONE
    batch = upload.batch
    assert (batch.rows_read, batch.rows_inserted, batch.rows_rejected) == (3, 2, 1)
    assert HukouRecord.objects.count() == 2


def test_import_applications_takes_full_width_numbers_and_reports_other_digits(district, tmp_path):
    lines = [
        {
            "ref": ref,
            "admission_year": YEAR,
            "child": {"name": "陈小明", "id_number": child},
            "guardians": [
                {"name": "李美玲", "id_number": full_width(MOTHER), "relation": "mother"}
            ],
            "home_community_code": HOME,
            "preferences": ["S440604001"],
            "consent": {"given_by": full_width(MOTHER), "given_at": "2027-04-12T10:00:00+08:00"},
        }
        for ref, child in (
            ("A1", full_width(CHILD)),
            ("A2", arabic_indic(idnumber.make("440604", date(2020, 5, 1), 111))),
        )
    ]
    path = tmp_path / "applications.jsonl"
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n")
    out, err = io.StringIO(), io.StringIO()

    call_command("import_applications", str(path), stdout=out, stderr=err)

    assert list(Application.objects.values_list("ref", "child_id_number")) == [("A1", CHILD)]
    assert f"line 2: child.id_number: {SHAPE}" in out.getvalue() + err.getvalue()


# --- bodies ------------------------------------------------------------------------------------

DEEP = "[" * 50_000 + "]" * 50_000


def test_json_nested_50000_deep_is_a_400_in_each_apis_shape(district, parent):
    api = parent_api(parent)

    enrollment = api.post("/api/v1/applications/", DEEP, content_type="application/json")
    registry = registry_client("push").post(
        "/registry/api/v1/records/", DEEP, content_type="application/json"
    )
    # Brackets inside strings are text, not nesting.
    bracketed = api.post(
        "/api/v1/applications/",
        json.dumps({**_submission(CHILD, MOTHER, MOTHER), "home_address": "[" * 40 + "{" * 40}),
        content_type="application/json",
    )

    for response in (enrollment, registry):
        assert response.status_code == 400
        assert response.json() == {
            "message": "JSON parse error - nested deeper than 32 levels",
            "code": "parse_error",
            "extra": {},
        }
    assert bracketed.status_code == 201, bracketed.content


def test_a_body_over_the_limit_is_a_413_in_each_apis_shape(district, parent, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({**_submission(CHILD, MOTHER, MOTHER), "home_address": "路" * 10_000})
    before = stored_rows()

    enrollment = parent_api(parent).post(
        "/api/v1/applications/", body, content_type="application/json"
    )
    registry = registry_client("push").post(
        "/registry/api/v1/records/", body, content_type="application/json"
    )

    for response in (enrollment, registry):
        assert response.status_code == 413
        assert response.json() == {
            "message": "the request body is over 10000 bytes",
            "code": "request_too_large",
            "extra": {},
        }
    assert Application.objects.count() == 0
    assert before["enrollment.Application"] == stored_rows()["enrollment.Application"]


def test_a_lone_surrogate_is_a_400_not_a_database_error():
    api = registry_client("push")
    body = json.dumps({"source": "hukou", "record": {**HUKOU, "id_number": CHILD}}).replace(
        "\\u9648", "\\ud800"
    )

    response = api.post("/registry/api/v1/records/", body, content_type="application/json")
    paired = api.post(
        "/registry/api/v1/records/",
        body.replace("\\ud800", "\\ud83d\\ude00"),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "JSON parse error - text holds a lone surrogate, not a character",
        "code": "parse_error",
        "extra": {},
    }
    # A pair that makes one character (an emoji) is text like any other.
    assert paired.status_code == 201
    assert HukouRecord.objects.get().name == "\U0001f600小明"


def test_text_that_is_not_utf8_is_a_400(district, parent):
    response = parent_api(parent).post(
        "/api/v1/applications/",
        '{"admission_year": 2027, "home_address": "陈"}'.encode("gb18030"),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "message": "JSON parse error - the body is not utf-8 text",
        "code": "parse_error",
        "extra": {},
    }


# --- an unexpected error ---------------------------------------------------------------------


def test_a_server_error_inside_an_enrollment_api_view_answers_in_its_shape(
    district, parent, monkeypatch, caplog
):
    def broken(**kwargs):
        raise RuntimeError(f"unexpected, about {CHILD}")

    monkeypatch.setattr("enrollment.api.applications.application_get", broken)
    caplog.set_level(logging.ERROR)

    response = parent_api(parent).get("/api/v1/applications/A1/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "message": "an unexpected error; it has been logged",
        "code": "server_error",
        "extra": {},
    }
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Internal Server Error: /api/v1/applications/A1/"
    assert record.exc_info[0] is RuntimeError


def test_a_server_error_inside_a_registry_api_view_answers_in_its_shape(monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr("registry.api.audit.lookups_about", broken)
    caplog.set_level(logging.ERROR)

    response = registry_client("audit").post(
        "/registry/api/v1/audit/lookups/", {"id_numbers": [CHILD]}, format="json"
    )

    assert response.status_code == 500
    assert response.json() == {
        "message": "an unexpected error; it has been logged",
        "code": "server_error",
        "extra": {},
    }
    assert [r.getMessage() for r in caplog.records if r.name == "django.request"] == [
        "Internal Server Error: /registry/api/v1/audit/lookups/"
    ]


def test_an_unknown_api_address_answers_in_the_api_shape(parent):
    client = Client(raise_request_exception=False)
    client.force_login(parent)

    enrollment = client.get("/api/v1/no-such-thing/")
    registry = client.get("/registry/api/v1/no-such-thing/")
    page = client.get("/no-such-page/")

    for response in (enrollment, registry):
        assert response.status_code == 404
        assert response.json() == {
            "message": "no such API address",
            "code": "not_found",
            "extra": {},
        }
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


def test_an_error_outside_any_api_view_answers_in_the_api_shape(monkeypatch):
    # The health check is a plain Django view: its failure reaches Django's own handler.
    def broken(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr("enrollment.api.health.connection.cursor", broken)
    client = Client(raise_request_exception=False)

    response = client.get("/api/v1/healthz/")

    assert response.status_code == 500
    assert response.json() == {
        "message": "an unexpected error; it has been logged",
        "code": "server_error",
        "extra": {},
    }
