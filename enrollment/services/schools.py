"""Schools per admission year: the import of `schools.csv` and officers' edits."""

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import AuditAction, Community, School, User
from enrollment.services.audit import audit_log

SCHOOL_COLUMNS = (
    "school_code",
    "name",
    "district_code",
    "kind",
    "grade",
    "capacity",
    "catchment_communities",
    "address",
    "lat",
    "lon",
)
# catchment_communities too, though a school's may be empty: a file without the column would
# load schools with no catchment, and over stored ones clear it.
REQUIRED_COLUMNS = (
    "school_code",
    "name",
    "district_code",
    "kind",
    "capacity",
    "catchment_communities",
)
GRADES = ("primary1",)
_DISTRICT = re.compile(r"^4406\d{2}$")
_COMMUNITY = re.compile(r"^\d{12}$")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


class SchoolImportError(Exception):
    """The file cannot be imported at all; the message is one line."""


@dataclass
class SchoolImportReport:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    communities_created: int = 0
    # (line number, reason), line 1 being the header
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"read {self.read}, inserted {self.inserted}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {len(self.rejected)}, "
            f"communities created {self.communities_created}"
        )


def _catchment(text: str) -> list[str]:
    codes = [code.strip() for code in (text or "").split(";") if code.strip()]
    return list(dict.fromkeys(codes))


def _coordinate(text: str, low: int, high: int, name: str) -> Decimal | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{name} is not a number") from None
    if not value.is_finite() or not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}")
    return value.quantize(Decimal("0.000001"))


def _check_catchment(codes: list[str], district_code: str) -> None:
    for code in codes:
        if not _COMMUNITY.match(code):
            raise ValueError(f"catchment community {code!r} is not a 12-digit code")
        if not code.startswith(district_code):
            raise ValueError(f"catchment community {code} is outside district {district_code}")


def school_row_clean(row: dict) -> dict:
    """One CSV row as School field values, or ValueError saying what is wrong."""
    code = (row.get("school_code") or "").strip()
    if not _CODE.match(code):
        raise ValueError("school_code must be 1 to 16 letters, digits, '-' or '_'")
    name = (row.get("name") or "").strip()
    if not name or len(name) > 128:
        raise ValueError("name is required (at most 128 characters)")
    district = (row.get("district_code") or "").strip()
    if not _DISTRICT.match(district):
        raise ValueError("district_code must be a six-digit district of the city (4406..)")
    kind = (row.get("kind") or "").strip()
    if kind not in School.Kind.values:
        raise ValueError(f"kind must be one of {', '.join(School.Kind.values)}")
    grade = (row.get("grade") or "").strip() or "primary1"
    if grade not in GRADES:
        raise ValueError(f"grade must be one of {', '.join(GRADES)}")
    capacity_text = (row.get("capacity") or "").strip()
    if not capacity_text.isdigit():
        raise ValueError("capacity must be a whole number of seats")
    catchment = _catchment(row.get("catchment_communities") or "")
    _check_catchment(catchment, district)
    address = (row.get("address") or "").strip()
    if len(address) > 255:
        raise ValueError("address is longer than 255 characters")
    return {
        "code": code,
        "name": name,
        "district_code": district,
        "kind": kind,
        "grade": grade,
        "capacity": int(capacity_text),
        "catchment_communities": catchment,
        "address": address,
        "lat": _coordinate(row.get("lat"), -90, 90, "lat"),
        "lon": _coordinate(row.get("lon"), -180, 180, "lon"),
    }


def _read_rows(path: Path, encoding: str) -> tuple[int, list[tuple[int, dict, int]]]:
    """The header's width and (line, row by column name, fields found) for each row."""
    try:
        data = path.read_bytes()
        # Spreadsheets save "CSV UTF-8" with a byte order mark; it is not part of the header.
        if codecs.lookup(encoding).name == "utf-8":
            encoding = "utf-8-sig"
        text = data.decode(encoding)
    except OSError as error:
        raise SchoolImportError(f"{path}: cannot read ({error.strerror or error})") from None
    except LookupError:
        raise SchoolImportError(f"{path}: unknown encoding {encoding}") from None
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        shown = encoding.removesuffix("-sig")
        raise SchoolImportError(
            f"{path}: line {line} is not {shown} text (try --encoding)"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        # Column names as the feeds read them: any order, any case, extra ones ignored.
        header = [name.strip().lower() for name in next(reader, [])]
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise SchoolImportError(f"{path}: missing columns: {', '.join(missing)}")
        repeated = [name for name in SCHOOL_COLUMNS if header.count(name) > 1]
        if repeated:
            raise SchoolImportError(f"{path}: columns named more than once: {', '.join(repeated)}")
        return len(header), [
            (reader.line_num, dict(zip(header, fields, strict=False)), len(fields))
            for fields in reader
            if fields
        ]
    except csv.Error as error:
        raise SchoolImportError(
            f"{path}: line {reader.line_num}: not a CSV file ({error})"
        ) from None


@transaction.atomic
def schools_import(
    *, path: Path, admission_year: int, encoding: str = "utf-8", actor: User | None = None
) -> SchoolImportReport:
    """Load `schools.csv` for one admission year, with a Community row for every catchment code.

    Idempotent: a school is keyed by (school_code, year), and loading the same file again changes
    nothing. All or nothing: when any row is rejected the report lists every rejected line and
    no row is written; the caller decides how to tell the operator.
    """
    report = SchoolImportReport()
    width, rows = _read_rows(Path(path), encoding)
    cleaned: list[dict] = []
    seen: dict[str, int] = {}
    for line, row, found in rows:
        report.read += 1
        if found != width:
            # A row short of fields has its values under the wrong columns, or none.
            report.rejected.append((line, f"expected {width} fields, found {found}"))
            continue
        try:
            values = school_row_clean(row)
        except ValueError as error:
            report.rejected.append((line, str(error)))
            continue
        if values["code"] in seen:
            report.rejected.append(
                (line, f"school_code {values['code']} repeats line {seen[values['code']]}")
            )
            continue
        seen[values["code"]] = line
        cleaned.append(values)
    if report.rejected:
        return report

    communities = {code for values in cleaned for code in values["catchment_communities"]}
    known = set(Community.objects.filter(code__in=communities).values_list("code", flat=True))
    new_communities = [
        Community(code=code, district_code=code[:6]) for code in sorted(communities - known)
    ]
    Community.objects.bulk_create(new_communities, ignore_conflicts=True)
    report.communities_created = len(new_communities)

    existing = {
        school.code: school
        for school in School.objects.select_for_update().filter(
            admission_year=admission_year, code__in=[v["code"] for v in cleaned]
        )
    }
    for values in cleaned:
        school = existing.get(values["code"])
        if school is None:
            school = School.objects.create(admission_year=admission_year, **values)
            report.inserted += 1
            audit_log(
                actor=actor,
                action=AuditAction.SCHOOL_IMPORT,
                target=school,
                reason=f"import_schools {Path(path).name}",
                data={"inserted": True},
            )
            continue
        changes = _changes(school, values)
        if not changes:
            report.unchanged += 1
            continue
        for name in changes:
            setattr(school, name, values[name])
        school.save(update_fields=list(changes))
        report.updated += 1
        audit_log(
            actor=actor,
            action=AuditAction.SCHOOL_IMPORT,
            target=school,
            reason=f"import_schools {Path(path).name}",
            data={"changes": changes, **_old_new(changes)},
        )
    return report


def _jsonable(value):
    return str(value) if isinstance(value, Decimal) else value


def _old_new(changes: dict[str, list]) -> dict[str, dict]:
    return {
        "old": {name: old for name, (old, _new) in changes.items()},
        "new": {name: new for name, (_old, new) in changes.items()},
    }


def _changes(school: School, values: dict) -> dict[str, list]:
    changes = {}
    for name, value in values.items():
        before = getattr(school, name)
        if before != value:
            changes[name] = [_jsonable(before), _jsonable(value)]
    return changes


EDITABLE = ("name", "kind", "capacity", "catchment_communities", "address", "lat", "lon")


@transaction.atomic
def school_update(*, school: School, actor: User, reason: str, changes: dict) -> School:
    """An officer edits a school of their own district; every change is audited with a reason."""
    if not actor.is_officer or actor.district_code != school.district_code:
        raise ApplicationError(
            ErrorCode.NOT_FOUND, "No such school in your district.", field="code"
        )
    if not (reason or "").strip():
        raise ApplicationError(
            ErrorCode.REASON_REQUIRED, "Say why the school is changed.", field="reason"
        )
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ApplicationError(
            ErrorCode.INVALID,
            f"{sorted(unknown)[0]}: not editable",
            field=sorted(unknown)[0],
        )
    row = {
        "school_code": school.code,
        "name": school.name,
        "district_code": school.district_code,
        "kind": school.kind,
        "grade": school.grade,
        "capacity": str(school.capacity),
        "catchment_communities": ";".join(school.catchment_communities),
        "address": school.address,
        "lat": "" if school.lat is None else str(school.lat),
        "lon": "" if school.lon is None else str(school.lon),
    }
    for name, value in changes.items():
        if name == "catchment_communities":
            row[name] = ";".join(value) if isinstance(value, list | tuple) else str(value)
        else:
            row[name] = "" if value is None else str(value)
    try:
        values = school_row_clean(row)
    except ValueError as error:
        field_name = next((name for name in changes if str(error).startswith(name)), "")
        raise ApplicationError(ErrorCode.INVALID, str(error), field=field_name) from None
    diff = {
        name: change
        for name, change in _changes(school, values).items()
        if name in changes and name in EDITABLE
    }
    if not diff:
        return school
    new_codes = [
        code
        for code in values["catchment_communities"]
        if not Community.objects.filter(code=code).exists()
    ]
    Community.objects.bulk_create(
        [Community(code=code, district_code=code[:6]) for code in new_codes],
        ignore_conflicts=True,
    )
    for name in diff:
        setattr(school, name, values[name])
    school.save(update_fields=list(diff))
    audit_log(
        actor=actor,
        action=AuditAction.SCHOOL_UPDATE,
        target=school,
        reason=reason,
        data={"changes": diff, **_old_new(diff)},
    )
    return school
