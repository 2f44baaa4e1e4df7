"""A district's feed files rewritten as departments really export them (INTERCHANGE.md,
"Department exports as they really come"), for tests and the import benchmark.

The same facts as `generate_district`'s canonical files, written the way a department's own
system writes them: the Chinese headers, GB18030 with CRLF line ends, sex as `男`/`女` or
GB/T 2261.1 codes, dates as `YYYYMMDD`, months as `YYYYMM`, flags as `是`/`否`, shares as
`50%`, some ID numbers in full-width digits and some in their first-generation 15 digits;
and any of the feeds as an `.xlsx` workbook whose date cells are dates. Loading these files
must store exactly what loading the canonical ones stores.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

CHINESE_HEADERS = {
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
# How each canonical column is rewritten.
KINDS = {
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
_FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
_SEXES = {"chinese": {"M": "男", "F": "女"}, "code": {"M": "1", "F": "2"}}
_FLAGS = {"1": "是", "0": "否"}


def department_forms_write(
    *,
    canonical: Path,
    out: Path,
    sex_form: str = "chinese",
    spreadsheets: frozenset[str] = frozenset(),
    full_width_every: int = 50,
    first_generation_every: int = 37,
) -> list[Path]:
    """Rewrite each feed file of `canonical` into `out` (`<source>.csv` in GB18030, or
    `<source>.xlsx` for the sources in `spreadsheets`); returns the files written.

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
            if source in spreadsheets:
                target = out / f"{source}.xlsx"
                _write_workbook(
                    target, header, columns, (rewrite(n, row) for n, row in enumerate(reader))
                )
            else:
                target = out / f"{source}.csv"
                with target.open("w", encoding="gb18030", newline="") as exported:
                    writer = csv.writer(exported, lineterminator="\r\n")
                    writer.writerow(header)
                    writer.writerows(rewrite(n, row) for n, row in enumerate(reader))
        written.append(target)
    return written


def row_rewriter(columns, sex_form, full_width_every, first_generation_every):
    kinds = [KINDS.get(column, "") for column in columns]
    sexes = _SEXES[sex_form]

    def rewrite(number: int, row: list[str]) -> list[str]:
        values = []
        for kind, value in zip(kinds, row, strict=True):
            if kind == "id":
                if number % first_generation_every == 1 and value[6:8] == "19":
                    value = value[:6] + value[8:17]
                if number % full_width_every == 2:
                    value = value.translate(_FULL_WIDTH)
            elif kind == "sex":
                value = sexes[value]
            elif kind in ("date", "month"):
                value = value.replace("-", "")
            elif kind == "flag":
                value = _FLAGS[value]
            elif kind == "share":
                value = f"{value}%"
            values.append(value)
        return values

    return rewrite


def _write_workbook(target: Path, header, columns, rows) -> None:
    """A workbook as a department's office software saves one: dates as date cells, codes
    and ID numbers as text."""
    from openpyxl import Workbook

    kinds = [KINDS.get(column, "") for column in columns]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(header)
    for row in rows:
        sheet.append(
            [
                date(int(v[:4]), int(v[4:6]), int(v[6:])) if kind == "date" else v
                for kind, v in zip(kinds, row, strict=True)
            ]
        )
    workbook.save(target)
