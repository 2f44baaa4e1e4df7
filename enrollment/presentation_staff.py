"""How staff pages word what the product and the registry recorded as codes.

Why an application's state changed (ApplicationEvent.reason_code), each step of a decision's
trace, why a department feed's row was rejected (ImportBatch.rejections' code and parameters),
and the registry's audit purposes and refusals: all in the page's language. The English the
services wrote stays in the database, reports and APIs; a person's own words are shown as
typed; nothing here shows an ID number unmasked.
"""

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from enrollment.models import Consent, EventReason, Evidence
from enrollment.templatetags.portal import (
    HOUSING_CLASSES,
    HUKOU_CLASSES,
    decision_reason,
    refusal_label,
    step_text,
)
from registry.feeds import FEEDS, RowRejected
from registry.idnumber import mask_in_text

# --- an application's history ---------------------------------------------------------------

EVIDENCE_KINDS = {
    Evidence.Kind.UPLOAD: gettext_lazy("上传文件"),
    Evidence.Kind.COMMITMENT: gettext_lazy("告知承诺"),
}


def event_reason(event) -> str:
    """Why a state changed: the product's reason in words, then the person's own, if any."""
    label = _event_label(event.reason_code, event.reason_params or {})
    if label and event.reason:
        return _("%(label)s：%(words)s") % {"label": label, "words": event.reason}
    return label or event.reason


def _event_label(code: str, params: dict) -> str:
    if not code:
        return ""
    if code == EventReason.EVIDENCE_OFFERED and params.get("fact") in Evidence.Fact.values:
        kind = EVIDENCE_KINDS.get(params.get("kind"))
        fact = Evidence.Fact(params["fact"]).label
        if kind:
            return _("家长补充了证明材料：%(fact)s（%(kind)s）") % {"fact": fact, "kind": kind}
        return _("家长补充了证明材料：%(fact)s") % {"fact": fact}
    if code == EventReason.REGISTRY_UNAVAILABLE and isinstance(params.get("attempts"), int):
        return _("数据平台连续 %(attempts)s 次无法访问，转人工审核") % {
            "attempts": params["attempts"]
        }
    if code == EventReason.LOOKUP_REFUSED and params.get("refusal"):
        return _("数据平台拒绝了查询，转人工审核。原因：%(why)s") % {
            "why": refusal_label(str(params["refusal"]))
        }
    if code in EventReason.values:
        return str(EventReason(code).label)
    return _("系统记录的变更")


# --- a decision's trace ---------------------------------------------------------------------


def decision_labels(decision) -> dict:
    """The decision's reason codes and classes in words, for the case page's facts."""
    if decision is None:
        return {"reason_labels": [], "hukou_label": "", "housing_label": ""}
    return {
        "reason_labels": [decision_reason(code) for code in decision.reasons or []],
        "hukou_label": HUKOU_CLASSES.get(decision.hukou_class, decision.hukou_class),
        "housing_label": HOUSING_CLASSES.get(decision.housing_class, decision.housing_class),
    }


# The facts an officer states when accepting evidence (Evidence.accepted_values).
ACCEPTED_FACTS = {
    "hukou_class": gettext_lazy("户籍类别"),
    "registered_on": gettext_lazy("户籍登记日期"),
    "qualifying_months": gettext_lazy("社保缴费月数"),
}


def accepted_facts(values: dict) -> list[str]:
    """What accepted evidence established, one "name: value" each."""
    return [
        _("%(name)s：%(value)s")
        % {
            "name": ACCEPTED_FACTS.get(name, name),
            "value": HUKOU_CLASSES.get(value, value) if name == "hukou_class" else value,
        }
        for name, value in (values or {}).items()
    ]


def trace_step(step: dict, document: dict) -> dict:
    """One step of the trace in the words the parent's points breakdown uses."""
    label, rule = step_text(step, document)
    return {"label": mask_in_text(label), "rule": mask_in_text(rule), "points": step.get("points")}


# --- rejected feed rows ---------------------------------------------------------------------

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
SOURCE_LABELS = dict(Consent.Lookup.choices)


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
    if upload.error_code == "malformed_csv":
        return _("文件不是格式正确的 CSV（例如引号没有成对），请检查后重新上传。")
    if upload.error_code == "unreadable":
        return _("服务器读不到上传的文件，请重新上传；再次失败请联系系统管理员。")
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
