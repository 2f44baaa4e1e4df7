"""The synthetic district's feeds as departments really write them (`generate_district --forms
department`, INTERCHANGE.md "Department exports as they really come").

A department's system writes each column one way throughout a file (the police write sex as
`男`/`女` or as GB/T 2261.1 codes, dates as `20200309` or `2020年3月9日`), so each file takes
one form per column, drawn from the seed among the non-canonical ones; ID numbers vary row by row as hand-kept records do
(a few full-width, first-generation 15-digit, lower-case `x` or padded with spaces). CSV
files are written in GB18030 with Chinese headers and CRLF line ends; the sources named in
`xlsx` become spreadsheets (dates as date cells), as `<source>.xlsx`.

The value forms are plain functions of a canonical value and a form name, so the property
test (tests/registry/demo) can draw any combination and hold the import to the canonical
facts.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable, Collection
from datetime import date
from pathlib import Path

from openpyxl import Workbook

from registry.feeds.specs import FEEDS

# INTERCHANGE.md's Chinese headers for each feed's columns, in the order of its table.
CHINESE_HEADERS: dict[str, dict[str, str]] = {
    "hukou": {
        "id_number": "公民身份号码",
        "name": "姓名",
        "sex": "性别",
        "birth_date": "出生日期",
        "hukou_district_code": "户籍地行政区划代码",
        "community_code": "社区代码",
        "address": "住址",
        "registered_on": "户籍登记日期",
        "household_no": "户号",
    },
    "property": {
        "certificate_no": "不动产权证号",
        "owner_id_number": "权利人身份证号",
        "share_percent": "份额",
        "community_code": "社区代码",
        "address": "坐落",
        "registered_on": "登记日期",
    },
    "rental": {
        "registration_no": "备案编号",
        "tenant_id_number": "承租人身份证号",
        "community_code": "社区代码",
        "address": "房屋地址",
        "start_date": "租赁起始日期",
        "end_date": "租赁终止日期",
    },
    "social_insurance": {
        "id_number": "公民身份号码",
        "month": "缴费年月",
        "pension": "养老保险",
        "medical": "医疗保险",
        "employer_name": "单位名称",
    },
    "residence_permit": {
        "id_number": "公民身份号码",
        "permit_no": "居住证号",
        "district_code": "签发地行政区划代码",
        "issued_on": "签发日期",
        "expires_on": "有效期至",
    },
}
# What kind of value each column holds, for the columns a department writes its own way.
KINDS: dict[str, str] = {
    "id_number": "id",
    "owner_id_number": "id",
    "tenant_id_number": "id",
    "sex": "sex",
    "birth_date": "date",
    "registered_on": "date",
    "start_date": "date",
    "end_date": "date",
    "issued_on": "date",
    "expires_on": "date",
    "month": "month",
    "pension": "flag",
    "medical": "flag",
    "share_percent": "share",
}

SEX_FORMS = ("MF", "男女", "code")
DATE_FORMS = ("iso", "compact", "slash", "dot", "chinese")
MONTH_FORMS = ("iso", "compact", "slash", "chinese")
FLAG_FORMS = ("10", "是否", "YN", "truefalse", "已缴未缴")
SHARE_FORMS = ("plain", "decimals", "percent")
ID_FORMS = ("ascii", "full_width", "first_generation", "lower_x", "padded")


def sex_form(value: str, form: str) -> str:
    if form == "男女":
        return {"M": "男", "F": "女"}[value]
    if form == "code":  # GB/T 2261.1
        return {"M": "1", "F": "2"}[value]
    return value


def date_form(value: str, form: str) -> str:
    day = date.fromisoformat(value)
    return {
        "iso": value,
        "compact": f"{day:%Y%m%d}",
        "slash": f"{day.year}/{day.month}/{day.day}",
        "dot": f"{day.year}.{day.month}.{day.day}",
        "chinese": f"{day.year}年{day.month}月{day.day}日",
    }[form]


def month_form(value: str, form: str) -> str:
    year, month = int(value[:4]), int(value[5:7])
    return {
        "iso": value,
        "compact": f"{year:04d}{month:02d}",
        "slash": f"{year}/{month}",
        "chinese": f"{year}年{month}月",
    }[form]


_FLAG_WORDS = {
    "10": ("1", "0"),
    "是否": ("是", "否"),
    "YN": ("Y", "N"),
    "truefalse": ("true", "false"),
    "已缴未缴": ("已缴", "未缴"),
}


def flag_form(value: str, form: str) -> str:
    yes, no = _FLAG_WORDS[form]
    return yes if value == "1" else no


def share_form(value: str, form: str) -> str:
    if form == "decimals":
        return f"{float(value):.2f}"
    if form == "percent":
        return f"{value}%"
    return value


_FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def id_form(value: str, form: str) -> str:
    """One way a person's number is written; each reads back (idnumber.normalise) as `value`.
    A number of someone born outside the 1900s has no first-generation form: it stays."""
    if form == "full_width":
        return value.translate(_FULL_WIDTH)
    if form == "first_generation" and value[6:8] == "19":
        return value[:6] + value[8:17]
    if form == "lower_x":
        return value.lower()
    if form == "padded":
        return f" {value}\u3000"
    return value


FORMS: dict[str, tuple[tuple[str, ...], Callable[[str, str], str]]] = {
    "sex": (SEX_FORMS, sex_form),
    "date": (DATE_FORMS, date_form),
    "month": (MONTH_FORMS, month_form),
    "flag": (FLAG_FORMS, flag_form),
    "share": (SHARE_FORMS, share_form),
}

# One ID number in this many is written another way than plain ASCII.
ID_VARIANT_EVERY = 40


def write_department_forms(
    folder: Path, *, seed: int, xlsx: Collection[str] = ("residence_permit",)
) -> dict[str, dict[str, str]]:
    """Rewrite the canonical feeds in `folder` in department forms, in place; returns the
    form each file's columns took ({source: {column: form}})."""
    rng = random.Random(f"{seed}:department-forms")  # noqa: S311 - reproducible test data
    chosen: dict[str, dict[str, str]] = {}
    for source, spec in FEEDS.items():
        canonical = folder / spec.file_name
        columns = list(CHINESE_HEADERS[source])
        # Never the canonical form (each tuple's first): the files exercise the department's.
        forms = {
            column: rng.choice(FORMS[KINDS[column]][0][1:])
            for column in columns
            if KINDS.get(column) in FORMS
        }
        if source in xlsx:
            # A spreadsheet holds dates as date cells, whatever the department's text form.
            forms.update({column: "iso" for column in forms if KINDS[column] == "date"})
        chosen[source] = forms
        rows = _department_rows(canonical, columns, forms, rng)
        header = list(CHINESE_HEADERS[source].values())
        if source in xlsx:
            _write_xlsx(folder / f"{source}.xlsx", header, columns, rows)
        else:
            with (folder / f"{source}.csv.tmp").open("w", encoding="gb18030", newline="") as out:
                writer = csv.writer(out, lineterminator="\r\n")
                writer.writerow(header)
                writer.writerows(rows)
            (folder / f"{source}.csv.tmp").replace(canonical)
            continue
        canonical.unlink()
    return chosen


def _department_rows(canonical: Path, columns: list[str], forms: dict[str, str], rng):
    with canonical.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        order = [header.index(column) for column in columns]
        for row in reader:
            values = [row[i] for i in order]
            out = []
            for column, value in zip(columns, values, strict=True):
                kind = KINDS.get(column)
                if kind == "id" and rng.randrange(ID_VARIANT_EVERY) == 0:
                    value = id_form(value, rng.choice(ID_FORMS[1:]))
                elif kind in FORMS and value:
                    value = FORMS[kind][1](value, forms[column])
                out.append(value)
            yield out


def _write_xlsx(path: Path, header: list[str], columns: list[str], rows) -> None:
    """Date columns as date cells, as a spreadsheet holds them; everything else as text (an
    ID number as a number would lose its last digits)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(header)
    dates = [KINDS.get(column) == "date" for column in columns]
    for row in rows:
        sheet.append(
            [
                _date_cell(value) if is_date and value else value
                for value, is_date in zip(row, dates, strict=True)
            ]
        )
    book.save(path)


def _date_cell(value: str) -> date:
    """A date column's text (`YYYY-MM-DD` or `YYYYMMDD`) as the date cell a spreadsheet keeps."""
    if "-" in value:
        return date.fromisoformat(value)
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


# --- fixed forms, for tests and the import benchmark ----------------------------------------

_SEX_FORM = {"chinese": "男女", "code": "code"}


def department_forms_write(
    *,
    canonical: Path,
    out: Path,
    sex_form: str = "chinese",
    spreadsheets: frozenset[str] = frozenset(),
    full_width_every: int = 50,
    first_generation_every: int = 37,
) -> list[Path]:
    """Rewrite each feed file of `canonical` into `out` in the forms the block path rewrites
    (registry.feeds.blockforms): the Chinese headers, sex as `男`/`女` (`sex_form="code"`:
    `1`/`2`), dates as `YYYYMMDD`, months as `YYYYMM`, flags as `是`/`否`, shares as `50%`;
    `<source>.csv` in GB18030 with CRLF, or `<source>.xlsx` for the sources in
    `spreadsheets`. Returns the files written.

    Every `full_width_every`-th row writes its ID numbers in full-width digits, every
    `first_generation_every`-th row of a person born in the 1900s in 15 digits."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source, headers in CHINESE_HEADERS.items():
        path = Path(canonical) / f"{source}.csv"
        if not path.is_file():
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            columns = next(reader)
            rewrite = row_rewriter(columns, sex_form, full_width_every, first_generation_every)
            header = [headers.get(column, column) for column in columns]
            rows = (rewrite(n, row) for n, row in enumerate(reader))
            if source in spreadsheets:
                target = out / f"{source}.xlsx"
                _write_xlsx(target, header, columns, rows)
            else:
                target = out / f"{source}.csv"
                with target.open("w", encoding="gb18030", newline="") as exported:
                    writer = csv.writer(exported, lineterminator="\r\n")
                    writer.writerow(header)
                    writer.writerows(rows)
        written.append(target)
    return written


def row_rewriter(columns, sex_form, full_width_every, first_generation_every):
    """(row number, canonical row) → the row in department_forms_write's fixed forms."""
    kinds = [KINDS.get(column, "") for column in columns]
    fixed = {
        "sex": _SEX_FORM[sex_form],
        "date": "compact",
        "month": "compact",
        "flag": "是否",
        "share": "percent",
    }

    def rewrite(number: int, row: list[str]) -> list[str]:
        values = []
        for kind, value in zip(kinds, row, strict=True):
            if kind == "id":
                if number % first_generation_every == 1:
                    value = id_form(value, "first_generation")
                if number % full_width_every == 2:
                    value = id_form(value, "full_width")
            elif kind in fixed and value:
                value = FORMS[kind][1](value, fixed[kind])
            values.append(value)
        return values

    return rewrite
