"""import_applications, verify_applications, export_decisions and install_policy, as
INTERCHANGE.md specifies them."""

import csv
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from enrollment.models import Application, Decision, PolicyDocument, VerificationJob
from enrollment.policy import default_policy_document
from registry.services import audit
from tests.conftest import HOME, YEAR
from tests.enrollment.pipeline_support import child_id, guardian_id, verify_all, worked_example

pytestmark = pytest.mark.django_db


def _record(n: int, **overrides) -> dict:
    mother = guardian_id(n)
    record = {
        "ref": f"A{n:06d}",
        "admission_year": YEAR,
        "grade": "primary1",
        "child": {"name": "陈小明", "id_number": child_id(n)},
        "guardians": [{"name": "李美玲", "id_number": mother, "relation": "mother"}],
        "home_community_code": HOME,
        "home_address": "禅城区示范路1号",
        "preferences": ["S440604001"],
        "consent": {"given_by": mother, "given_at": "2027-04-12T10:00:00+08:00"},
    }
    record.update(overrides)
    return record


def _write(path, lines, encoding="utf-8"):
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def _run(*args, **kwargs) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def test_import_keeps_good_lines_and_reports_bad_ones_by_line(
    district, tmp_path, django_capture_on_commit_callbacks
):
    bad_id = child_id(3)[:17] + ("0" if child_id(3)[17] != "0" else "1")
    path = _write(
        tmp_path / "applications.jsonl",
        [
            json.dumps(_record(1), ensure_ascii=False),
            "{not json",
            json.dumps(_record(3, child={"name": "小红", "id_number": bad_id})),
            json.dumps(_record(4, preferences=["S999"])),
            "",
            json.dumps(_record(6)),
            json.dumps({"ref": "A7"}),
        ],
    )

    with django_capture_on_commit_callbacks(execute=True) as enqueued:
        output = _run("import_applications", str(path))

    # One enqueue for the whole import; the verification it ran in-process anchored the
    # registry's audit log after its commit, the other callback.
    assert len(enqueued) == 2
    assert enqueued[1].func is audit._anchor
    assert output.splitlines() == [
        "line 2: not valid JSON (Expecting property name enclosed in double quotes)",
        "line 3: child.id_number: the check character does not match (GB 11643)",
        "line 4: preferences[0]: no school S999 admits in 2027",
        "line 7: admission_year: missing",
        f"{path}: 6 read, 2 created, 0 unchanged, 4 rejected",
    ]
    assert sorted(Application.objects.values_list("ref", "channel")) == [
        ("A000001", "assisted"),
        ("A000006", "assisted"),
    ]
    application = Application.objects.get(ref="A000001")
    assert application.consent.given_at.isoformat() == "2027-04-12T02:00:00+00:00"
    # Enqueued after commit; tasks run in-process here, so they are verified already.
    assert set(VerificationJob.objects.values_list("status", flat=True)) == {"done"}


def test_importing_the_same_refs_again_changes_nothing(district, tmp_path):
    path = _write(tmp_path / "a.jsonl", [json.dumps(_record(1)), json.dumps(_record(2))])
    _run("import_applications", str(path))
    before = list(Application.objects.order_by("id").values_list("id", "ref", "updated_at"))

    output = _run("import_applications", str(path))

    assert output.splitlines()[-1] == f"{path}: 2 read, 0 created, 2 unchanged, 0 rejected"
    assert list(Application.objects.order_by("id").values_list("id", "ref", "updated_at")) == (
        before
    )
    assert VerificationJob.objects.count() == 2


def test_the_same_child_twice_in_one_file_keeps_the_first(district, tmp_path):
    path = _write(
        tmp_path / "a.jsonl",
        [json.dumps(_record(1)), json.dumps(_record(1, ref="OTHER-REF"))],
    )

    output = _run("import_applications", str(path))

    assert output.splitlines()[0] == (
        "line 2: child.id_number: this child already has an application for 2027"
    )
    assert list(Application.objects.values_list("ref", flat=True)) == ["A000001"]


def test_gbk_files_import_with_the_encoding_option(district, tmp_path):
    path = _write(tmp_path / "a.jsonl", [json.dumps(_record(1), ensure_ascii=False)], "gbk")

    _run("import_applications", str(path), encoding="gbk")

    assert Application.objects.get().child_name == "陈小明"


def test_a_line_separator_inside_a_value_neither_splits_its_line_nor_renumbers_the_rest(
    district, tmp_path
):
    # JSON allows U+2028 and U+0085 unescaped inside a string; they do not end a line.
    path = _write(
        tmp_path / "a.jsonl",
        [
            json.dumps(_record(1, home_address="禅城区\u2028示范路\x851号"), ensure_ascii=False),
            json.dumps({"ref": "A2"}),
            json.dumps(_record(3), ensure_ascii=False),
        ],
    )

    output = _run("import_applications", str(path))

    assert output.splitlines() == [
        "line 2: admission_year: missing",
        f"{path}: 3 read, 2 created, 0 unchanged, 1 rejected",
    ]
    assert Application.objects.get(ref="A000001").home_address == "禅城区\u2028示范路\x851号"
    assert sorted(Application.objects.values_list("ref", flat=True)) == ["A000001", "A000003"]


def test_a_byte_order_mark_and_windows_line_ends_are_not_part_of_a_line(district, tmp_path):
    path = tmp_path / "a.jsonl"
    lines = [json.dumps(_record(1), ensure_ascii=False), json.dumps({"ref": "A2"})]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")

    output = _run("import_applications", str(path))

    assert output.splitlines() == [
        "line 2: admission_year: missing",
        f"{path}: 2 read, 1 created, 0 unchanged, 1 rejected",
    ]
    assert list(Application.objects.values_list("ref", flat=True)) == ["A000001"]


# The bad byte is on the last line; lines before it end with \n, or with \r\n, \r and \n.
@pytest.mark.parametrize(("before", "line"), [([b"\n"], 2), ([b"\r\n", b"{}\r", b"{}\n"], 4)])
def test_a_line_not_in_the_files_encoding_is_named(district, tmp_path, before, line):
    path = tmp_path / "a.jsonl"
    good = json.dumps(_record(1), ensure_ascii=False).encode()
    bad = json.dumps(_record(2), ensure_ascii=False).encode("gbk")
    path.write_bytes(good + b"".join(before) + bad + b"\n")

    with pytest.raises(CommandError) as failed:
        call_command("import_applications", str(path))

    assert str(failed.value) == f"{path} is not valid utf-8 text (line {line}; try --encoding)"
    assert Application.objects.count() == 0


def test_lines_ended_by_carriage_returns_alone_are_lines(district, tmp_path):
    path = tmp_path / "a.jsonl"
    lines = [json.dumps({"ref": "A1"}), json.dumps(_record(2), ensure_ascii=False)]
    path.write_bytes("\r".join(lines).encode() + b"\r")

    output = _run("import_applications", str(path))

    assert output.splitlines() == [
        "line 1: admission_year: missing",
        f"{path}: 2 read, 1 created, 0 unchanged, 1 rejected",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent/applications.jsonl"], "cannot read /nonexistent/applications.jsonl"),
        (["{gbk}"], "is not valid utf-8 text (line 1; try --encoding)"),
        (["{gbk}", "--encoding", "klingon"], "unknown encoding klingon"),
    ],
)
def test_unreadable_input_exits_with_one_line_and_stores_nothing(district, tmp_path, args, message):
    gbk = _write(tmp_path / "gbk.jsonl", [json.dumps(_record(1), ensure_ascii=False)], "gbk")
    args = [str(gbk) if a == "{gbk}" else a for a in args]

    with pytest.raises(CommandError) as failed:
        call_command("import_applications", *args)

    assert message in str(failed.value)
    assert "\n" not in str(failed.value)
    assert Application.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_verify_applications_queues_open_jobs_and_waits_for_decisions(district):
    applications = [worked_example(n, seq=n) for n in (1, 7)]

    # A real commit: the batches go out when the command's transaction commits.
    output = _run("verify_applications", year=YEAR, wait=True, timeout=20)

    lines = output.splitlines()
    assert lines[0] == "2027: queued 2 verification jobs in 1 batches"
    assert lines[-1] == "2/2 done: decided 1, needs_review 1"
    states = {a.ref: a.state for a in Application.objects.all()}
    assert states == {applications[0].ref: "decided", applications[1].ref: "needs_review"}
    assert Decision.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_verify_applications_gives_a_job_to_a_submitted_application_without_one(district):
    application = worked_example(1)
    VerificationJob.objects.all().delete()

    _run("verify_applications", year=YEAR, wait=True, timeout=20)

    application.refresh_from_db()
    assert application.state == "decided"


def test_verify_applications_refuses_a_bad_year():
    with pytest.raises(CommandError, match="--year 27 is not an admission year"):
        call_command("verify_applications", year=27)


def test_export_decisions_writes_exactly_the_interchange_columns(district, tmp_path):
    for number in (1, 5, 7):
        worked_example(number, seq=number)
    verify_all()
    out = tmp_path / "decisions.csv"

    output = _run("export_decisions", year=YEAR, out=str(out))

    assert output.strip() == f"{out}: 3 decisions for 2027"
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert rows == [
        [
            "ref",
            "decision",
            "hukou_class",
            "housing_class",
            "base_points",
            "bonus_points",
            "total_points",
            "residence_months",
            "si_months",
            "reasons",
            "policy_version",
        ],
        ["EX1-1", "eligible", "D", "OWN", "100.0", "9.3", "109.3", "93", "0", "", "2027.1"],
        [
            "EX5-5",
            "ineligible",
            "N",
            "RENT",
            "60.0",
            "2.8",
            "62.8",
            "0",
            "40",
            "PERMIT_MISSING",
            "2027.1",
        ],  # fmt: skip
        [
            "EX7-7",
            "needs_review",
            "",
            "NONE",
            "0.0",
            "0.0",
            "0.0",
            "0",
            "0",
            "CHILD_HUKOU_NOT_FOUND;GUARDIANSHIP_NOT_VERIFIED",
            "2027.1",
        ],  # fmt: skip
    ]
    assert not (tmp_path / "decisions.csv.part").exists()


def test_export_to_an_unwritable_place_fails_in_one_line_leaving_nothing(district, tmp_path):
    worked_example(1)
    verify_all()
    out = tmp_path / "missing-dir" / "decisions.csv"

    with pytest.raises(CommandError) as failed:
        call_command("export_decisions", year=YEAR, out=str(out))

    assert str(failed.value).startswith(f"cannot write {out}")
    assert not out.parent.exists()


def test_install_policy_installs_the_default_once(db):
    first = _run("install_policy", year=2028)
    second = _run("install_policy", year=2028)

    assert first.strip() == "policy 440604/2028/primary1 v2028.1 (active)"
    assert second == first
    policy = PolicyDocument.objects.get()
    assert policy.document["cutoff"] == date(2028, 3, 31).isoformat()


def test_install_policy_from_a_file_and_its_refusals(db, tmp_path):
    document = default_policy_document(admission_year=2028)
    document["version"] = "2028.2"
    good = tmp_path / "policy.json"
    good.write_text(json.dumps(document), encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({**document, "version": "2028.3", "si_min_months": -1}))

    installed = _run("install_policy", year=2028, file=str(good), no_activate=True)
    with pytest.raises(CommandError) as invalid:
        call_command("install_policy", year=2028, file=str(broken))
    with pytest.raises(CommandError) as wrong_year:
        call_command("install_policy", year=2029, file=str(good))

    assert installed.strip() == "policy 440604/2028/primary1 v2028.2 (installed, not active)"
    assert str(invalid.value) == (
        "document.si_min_months: must be a whole number of months from 0 to 600"
    )
    assert str(wrong_year.value) == f"{good} is a policy for 2028"
    assert list(PolicyDocument.objects.values_list("version", flat=True)) == ["2028.2"]


def test_a_year_without_a_policy_is_refused_once_naming_the_command(district, tmp_path):
    path = _write(
        tmp_path / "applications.jsonl",
        [json.dumps(_record(n, admission_year=2031), ensure_ascii=False) for n in range(1, 41)],
    )

    with pytest.raises(CommandError) as refused:
        _run("import_applications", str(path))

    assert str(refused.value) == (
        f"{path}: 40 read, 0 created, 0 unchanged, 40 rejected; No points policy is active for "
        "district 440604, year 2031: install one with "
        "`manage.py install_policy --year 2031 --district 440604`."
    )
    assert Application.objects.count() == 0


def test_lines_of_a_year_without_a_policy_are_reported_together(district, tmp_path):
    path = _write(
        tmp_path / "applications.jsonl",
        [
            json.dumps(_record(1), ensure_ascii=False),
            *(json.dumps(_record(n, admission_year=2031)) for n in (2, 3, 4)),
            json.dumps(_record(5, preferences=["S999"])),
            json.dumps(_record(6, admission_year=2031)),
        ],
    )

    output = _run("import_applications", str(path))

    assert output.splitlines() == [
        "4 lines from 2 to 6: No points policy is active for district 440604, year 2031: "
        "install one with `manage.py install_policy --year 2031 --district 440604`.",
        "line 5: preferences[0]: no school S999 admits in 2027",
        f"{path}: 6 read, 1 created, 0 unchanged, 5 rejected",
    ]
    assert list(Application.objects.values_list("ref", flat=True)) == ["A000001"]
