"""How the stewards' pages word why a department feed's row was rejected (ImportBatch.rejections' code and parameters) and why a handed-in file was not loaded, in the page's language. Nothing here shows an ID number unmasked."""

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from registry.contract import SOURCE_LABELS
from registry.feeds.specs import FEEDS, RowRejected
from registry.idnumber import mask_in_text
from registry.loading.uploads import NOTHING_LOADED

# The feeds' columns (INTERCHANGE.md), named for the page; the column itself follows, as the
# steward finds it in the file's header.
COLUMN_LABELS = {
    "id_number": gettext_lazy("身份证号"),
    "name": gettext_lazy("姓名"),
    "sex": gettext_lazy("性别"),
    "birth_date": gettext_lazy("出生日期"),
    "hukou_district_code": gettext_lazy("户籍所在区代码"),
    "community_code": gettext_lazy("社区代码"),
    "address": gettext_lazy("地址"),
    "registered_on": gettext_lazy("登记日期"),
    "household_no": gettext_lazy("户号"),
    "certificate_no": gettext_lazy("不动产权证号"),
    "owner_id_number": gettext_lazy("权利人身份证号"),
    "share_percent": gettext_lazy("产权份额（%）"),
    "registration_no": gettext_lazy("租赁备案号"),
    "tenant_id_number": gettext_lazy("承租人身份证号"),
    "start_date": gettext_lazy("租赁开始日期"),
    "end_date": gettext_lazy("租赁结束日期"),
    "month": gettext_lazy("缴费月份"),
    "pension": gettext_lazy("养老保险"),
    "medical": gettext_lazy("医疗保险"),
    "employer_name": gettext_lazy("单位名称"),
    "permit_no": gettext_lazy("居住证号"),
    "district_code": gettext_lazy("居住证所在区代码"),
    "issued_on": gettext_lazy("签发日期"),
    "expires_on": gettext_lazy("有效期至"),
}


REJECTIONS = {
    RowRejected.ID_SHAPE: gettext_lazy("%(field)s：身份证号须是 17 位数字加一位数字或 X"),
    RowRejected.ID_BIRTH_DATE: gettext_lazy("%(field)s：身份证号中的出生日期不存在"),
    RowRejected.ID_CHECK_CHARACTER: gettext_lazy("%(field)s：身份证号校验位不符（GB 11643）"),
    RowRejected.NOT_A_DATE: gettext_lazy("%(field)s：不是日期（应为 YYYY-MM-DD）"),
    RowRejected.IMPOSSIBLE_DATE: gettext_lazy("%(field)s：日期 %(value)s 不存在"),
    RowRejected.NOT_A_MONTH: gettext_lazy("%(field)s：不是月份（应为 YYYY-MM）"),
    RowRejected.IMPOSSIBLE_MONTH: gettext_lazy("%(field)s：月份 %(value)s 不存在"),
    RowRejected.NOT_DIGITS: gettext_lazy("%(field)s：须是 %(length)s 位数字"),
    RowRejected.REQUIRED: gettext_lazy("%(field)s：不能为空"),
    RowRejected.TOO_LONG: gettext_lazy("%(field)s：超过 %(max_length)s 个字符"),
    RowRejected.NUL_CHARACTER: gettext_lazy("%(field)s：含有空字符（NUL）"),
    RowRejected.NOT_A_FLAG: gettext_lazy("%(field)s：只能是 1 或 0"),
    RowRejected.NOT_A_NUMBER: gettext_lazy("%(field)s：不是数字"),
    RowRejected.SHARE_OUT_OF_RANGE: gettext_lazy("%(field)s：须大于 0 且不超过 100"),
    RowRejected.TOO_MANY_DECIMALS: gettext_lazy("%(field)s：最多 %(places)s 位小数"),
    RowRejected.NOT_M_OR_F: gettext_lazy("%(field)s：只能是 M 或 F"),
    RowRejected.SEX_NOT_STATED: gettext_lazy(
        "%(field)s：性别代码 %(value)s 表示未知或未说明，户籍记录只能是男或女"
    ),
    RowRejected.BIRTH_DATE_MISMATCH: gettext_lazy("%(field)s：与身份证号中的出生日期不一致"),
    RowRejected.END_BEFORE_START: gettext_lazy("%(field)s：早于%(start)s"),
    RowRejected.WRONG_FIELD_COUNT: gettext_lazy("应有 %(expected)s 个字段，实际有 %(found)s 个"),
    RowRejected.DUPLICATE_KEY: gettext_lazy("与第 %(first_line)s 行的主键重复，保留第一行"),
    RowRejected.MISSING_COLUMNS: gettext_lazy(
        "表头缺少这些列：%(missing)s（%(source)s的文件须有这些列：%(columns)s）"
    ),
    RowRejected.REPEATED_COLUMNS: gettext_lazy("表头中这些列出现了不止一次：%(repeated)s"),
}


# Parameters that name a column, and those that list columns.
COLUMN_PARAMS = ("field", "start")


COLUMN_LIST_PARAMS = ("missing", "columns", "repeated")


# What an old rejection (before codes) names first: "<column>: <problem>".
LEADING_COLUMN = re.compile(r"^([a-z_]+): ")


def column_label(column: str) -> str:
    label = COLUMN_LABELS.get(column)
    if label is None:
        return mask_in_text(column)[:64]
    return _("%(label)s（%(column)s）") % {"label": label, "column": column}


def rejection_message(item: dict) -> str:
    """A rejected row in the page's language: the message for its code with its parameters,
    or, for a code this version does not know (or a batch loaded before codes), general words
    naming the column where one is known."""
    params = item.get("params") if isinstance(item.get("params"), dict) else {}
    template = REJECTIONS.get(item.get("code") or "")
    if template is not None:
        try:
            return mask_in_text(str(template) % _rejection_values(params))
        except (KeyError, TypeError, ValueError):
            pass  # parameters this version does not expect: the general words below
    if not item.get("line"):
        return _("整个文件未能导入，请检查文件的编码和格式。")
    column = params.get("field") or _leading_column(str(item.get("reason", "")))
    if column:
        return mask_in_text(_("该行被拒收：%(field)s") % {"field": column_label(str(column))})
    return _("该行被拒收。")


# Checks whose row message names one row's particulars (its value, the line it repeats, how
# many fields it has): a finding about many rows words the problem in general.
FINDING_PROBLEMS = {
    RowRejected.IMPOSSIBLE_DATE: gettext_lazy("%(field)s：日期不存在"),
    RowRejected.IMPOSSIBLE_MONTH: gettext_lazy("%(field)s：月份不存在"),
    RowRejected.DUPLICATE_KEY: gettext_lazy("主键与前面某一行重复，保留前面的行"),
    RowRejected.WRONG_FIELD_COUNT: gettext_lazy("应有 %(expected)s 个字段"),
}


@dataclass(frozen=True)
class DiagnosisView:
    """A batch's diagnosis (loading.report.Diagnosis.as_json) in the page's language."""

    headline: str
    # (line, shape of the value or "") of the example lines
    samples: tuple[tuple[int, str], ...]


def diagnosis_view(diagnosis) -> DiagnosisView | None:
    """The finding a batch's report leads with, worded from its code and parameters (the
    English of the command stays on the batch for the log); None when there is none."""
    if not isinstance(diagnosis, dict) or not diagnosis.get("code"):
        return None
    code = diagnosis["code"]
    params = diagnosis.get("params") if isinstance(diagnosis.get("params"), dict) else {}
    if code == "no_rows":
        return DiagnosisView(_("文件中没有数据行（只有表头，或是空文件）。"), ())
    item = {"code": code, "params": params, "line": 1}
    if code in (RowRejected.MISSING_COLUMNS, RowRejected.REPEATED_COLUMNS):
        return DiagnosisView(rejection_message(item), ())
    general = FINDING_PROBLEMS.get(code)
    problem = ""
    if general is not None:
        try:
            problem = mask_in_text(str(general) % _rejection_values(params))
        except (KeyError, TypeError, ValueError):
            problem = ""
    problem = problem or rejection_message(item)
    headline = _("读取的 %(rows)s 行中，有 %(count)s 行因同一原因被拒收：%(problem)s") % {
        "rows": f"{int(diagnosis.get('rows_read') or 0):,}",
        "count": f"{int(diagnosis.get('count') or 0):,}",
        "problem": problem,
    }
    samples = tuple(
        (int(sample.get("line") or 0), mask_in_text(str(sample.get("shape") or "")))
        for sample in diagnosis.get("samples") or []
        if isinstance(sample, dict)
    )
    return DiagnosisView(headline, samples)


def upload_failure_message(upload) -> str:
    """Why a handed-in file was not loaded, in the page's language (registry ImportFailed's
    codes, and "stopped"); a header or row problem is on the batch's page instead."""
    params = upload.error_params if isinstance(upload.error_params, dict) else {}
    encoding = str(params.get("encoding") or upload.encoding).upper()
    if upload.error_code == "not_in_encoding":
        if params.get("line"):
            return _(
                "文件不是 %(encoding)s 编码（第 %(line)s 行读不出来），请选择正确的文件编码后重新上传。"
            ) % {"encoding": encoding, "line": params["line"]}
        return _("文件不是 %(encoding)s 编码，请选择正确的文件编码后重新上传。") % {
            "encoding": encoding
        }
    if upload.error_code == "declared_gbk_is_utf8":
        return _(
            "文件声明为 %(encoding)s 编码，实际却是 UTF-8：按 %(encoding)s 导入会把所有姓名变成乱码。"
            "请选择 UTF-8 或“自动识别”后重新上传。"
        ) % {"encoding": encoding}
    if upload.error_code == "not_xlsx":
        return _("文件不是能读取的 XLSX 工作簿，请检查后重新上传。")
    if upload.error_code == "malformed_csv":
        return _("文件不是格式正确的 CSV（例如引号没有成对），请检查后重新上传。")
    if upload.error_code == "unreadable":
        return _("服务器读不到上传的文件，请重新上传；再次失败请联系系统管理员。")
    if upload.error_code == NOTHING_LOADED:
        return _("文件中没有一行能够导入，整个文件未导入，没有写入任何数据。原因见下。")
    if upload.error_code == "stopped":
        return _("导入意外中断，没有写入任何数据。请重新上传；再次失败请联系系统管理员。")
    if upload.batch_id:
        return _("文件没有导入，原因见导入批次的拒收明细。")
    return _("文件没有导入，请联系系统管理员。")


def _rejection_values(params: dict) -> dict:
    separator = pgettext("list separator", "，")
    values = dict(params)
    for name in COLUMN_PARAMS:
        if name in values:
            values[name] = column_label(str(values[name]))
    for name in COLUMN_LIST_PARAMS:
        if name in values:
            values[name] = separator.join(str(column) for column in values[name])
    if "source" in values:
        values["source"] = SOURCE_LABELS.get(values["source"], values["source"])
    return values


def _leading_column(reason: str) -> str:
    match = LEADING_COLUMN.match(reason)
    known = {column for spec in FEEDS.values() for column in spec.columns}
    return match.group(1) if match and match.group(1) in known else ""


@dataclass(frozen=True)
class QualityBar:
    label: str
    rows_read: int
    rows_rejected: int
    # Both as a share of the longest bar (the source with most rows read), in percent.
    loaded_width: float
    rejected_width: float
    y: int


@dataclass(frozen=True)
class QualityChart:
    """Rows read and rejected per source, as bars the template draws and as table rows."""

    title: str
    bars: tuple[QualityBar, ...]
    headers: tuple[str, ...]
    rows: tuple[tuple[str, int, int], ...]
    height: int


QUALITY_BAR_STEP = 28


def quality_chart(batches) -> QualityChart:
    """The latest batch of each source: a bar of its rows read, the rejected part in the
    colour that reads as bad, on one scale so that sources compare at a glance."""
    top = max((batch.rows_read for batch in batches), default=0) or 1
    bars = []
    for index, batch in enumerate(batches):
        rejected = min(batch.rows_rejected, batch.rows_read)
        bars.append(
            QualityBar(
                label=str(SOURCE_LABELS.get(batch.source, batch.source)),
                rows_read=batch.rows_read,
                rows_rejected=batch.rows_rejected,
                loaded_width=round(100 * (batch.rows_read - rejected) / top, 1),
                rejected_width=round(100 * rejected / top, 1),
                y=index * QUALITY_BAR_STEP,
            )
        )
    return QualityChart(
        title=_("各数据源最近一次导入：读取与拒收行数"),
        bars=tuple(bars),
        headers=(_("数据源"), _("读取"), _("拒收")),
        rows=tuple((bar.label, bar.rows_read, bar.rows_rejected) for bar in bars),
        height=max(len(bars), 1) * QUALITY_BAR_STEP,
    )
