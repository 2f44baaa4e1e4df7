"""How the portal says things to parents: facts, points, reasons and lookups in plain words.

Plain functions the views call, and a few filters the templates use. Nothing here shows an ID
number unmasked: record keys pass through `mask_in_text`.
"""

from datetime import date
from decimal import Decimal

from django import template
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from enrollment.models import Consent, Decision, Evidence, Guardian
from enrollment.policy.engine import Reason
from registry.idnumber import mask, mask_in_text

register = template.Library()

DEPARTMENTS = {
    "hukou": gettext_lazy("公安部门"),
    "property": gettext_lazy("住建部门"),
    "rental": gettext_lazy("住建部门"),
    "social_insurance": gettext_lazy("人社部门"),
    "residence_permit": gettext_lazy("公安部门"),
}
SOURCE_NAMES = {
    "hukou": gettext_lazy("户籍登记"),
    "property": gettext_lazy("不动产登记"),
    "rental": gettext_lazy("租赁备案"),
    "social_insurance": gettext_lazy("社保缴费记录"),
    "residence_permit": gettext_lazy("居住证登记"),
}
HUKOU_CLASSES = {
    "D": gettext_lazy("本区户籍"),
    "C": gettext_lazy("本市其他区户籍"),
    "N": gettext_lazy("非本市户籍"),
}
HOUSING_CLASSES = {
    "OWN": gettext_lazy("自有住房"),
    "RENT": gettext_lazy("租赁住房"),
    "NONE": gettext_lazy("住房未核实"),
}
# What a missing fact asks the parent for, by reason code (DOMAIN.md).
REASON_FACT = {
    "CHILD_HUKOU_NOT_FOUND": Evidence.Fact.HUKOU,
    "HOUSING_NOT_VERIFIED": Evidence.Fact.HOUSING,
    "PERMIT_MISSING": Evidence.Fact.RESIDENCE_PERMIT,
    "SI_MONTHS_BELOW_MIN": Evidence.Fact.SOCIAL_INSURANCE,
}


def relation_choices():
    return Guardian.Relation.choices


def day(value) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return date_format(value, "DATE_FORMAT")


def month(value) -> str:
    if not value:
        return ""
    return date_format(date.fromisoformat(value), "YEAR_MONTH_FORMAT")


def consent_lookups() -> list[dict]:
    """Exactly what will be looked up, from which department, and why: the consent screen."""
    why = {
        Consent.Lookup.HUKOU: (
            _("孩子的户籍所在区和户籍登记日期"),
            _("确定户籍类别（本区、本市其他区或外市），并计算居住年限加分。"),
        ),
        Consent.Lookup.PROPERTY: (
            _("监护人在所填社区是否拥有住房及产权份额；是否在本市别处有房"),
            _("确定住房类别：自有住房的基础分更高。"),
        ),
        Consent.Lookup.RENTAL: (
            _("监护人在所填社区是否有覆盖截止日的租赁备案"),
            _("没有自有住房时，确定是否按租赁住房计分。"),
        ),
        Consent.Lookup.SOCIAL_INSURANCE: (
            _("监护人近 120 个月中同时缴纳养老和医疗保险的月数"),
            _("非本市户籍的孩子需要至少 12 个月社保，超出部分加分。"),
        ),
        Consent.Lookup.RESIDENCE_PERMIT: (
            _("监护人是否持有截止日有效、且已办理满 12 个月的居住证"),
            _("非本市户籍的孩子需要监护人持有有效居住证。"),
        ),
    }
    return [
        {
            "key": value,
            "label": label,
            "department": DEPARTMENTS[value],
            "facts": why[value][0],
            "why": why[value][1],
        }
        for value, label in Consent.Lookup.choices
    ]


def _source_line(record: dict | None) -> str:
    if not record:
        return ""
    if record.get("source") == "evidence":
        return _("您补充的材料，经工作人员审核采纳")
    return _("%(department)s · %(source)s · 数据截至 %(as_of)s · 批次 %(batch)s · 记录 %(key)s") % {
        "department": DEPARTMENTS.get(record.get("source"), record.get("source", "")),
        "source": SOURCE_NAMES.get(record.get("source"), ""),
        "as_of": day(record.get("as_of")),
        "batch": record.get("batch_id", ""),
        "key": mask_in_text(str(record.get("key", ""))),
    }


def fact_rows(application, decision: Decision | None) -> list[dict]:
    """One row per fact the registry is asked: its status, what was found, and its source."""
    facts = [
        ("hukou", _("孩子户籍"), DEPARTMENTS["hukou"]),
        ("housing", _("家庭住房"), DEPARTMENTS["property"]),
        ("social_insurance", _("社保缴费"), DEPARTMENTS["social_insurance"]),
        ("residence_permit", _("居住证"), DEPARTMENTS["residence_permit"]),
    ]
    answer = (decision.facts or {}).get("answer") if decision else None
    rows = []
    for key, label, department in facts:
        row = {"key": key, "label": label, "department": department, "sources": []}
        if answer is None:
            if decision is not None:
                row.update(status="manual", summary=_("由工作人员人工审核"))
            elif application.state == "waiting_registry":
                row.update(status="waiting", summary=_("数据部门暂未答复，系统会自动重试"))
            elif application.state in ("submitted", "verifying"):
                row.update(status="checking", summary=_("正在向%(d)s核验…") % {"d": department})
            else:
                row.update(status="manual", summary=_("由工作人员人工审核"))
            rows.append(row)
            continue
        row.update(_fact_found(key, answer, decision))
        rows.append(row)
    return rows


def _fact_found(key: str, answer: dict, decision: Decision) -> dict:
    if key == "hukou":
        hukou = answer.get("child_hukou")
        if not hukou:
            return {"status": "missing", "summary": _("未查到孩子的户籍记录")}
        return {
            "status": "found",
            "summary": _("%(class)s，户籍登记日期 %(on)s")
            % {
                "class": HUKOU_CLASSES.get(hukou["hukou_class"], hukou["hukou_class"]),
                "on": day(hukou["registered_on"]),
            },
            "sources": [_source_line(hukou.get("record"))],
        }
    if key == "housing":
        housing = answer.get("housing") or {}
        share = Decimal(str(housing.get("owned_share_percent") or "0"))
        sources = []
        if decision.housing_class == "OWN":
            summary = _("监护人在所填社区共同拥有住房 %(share)s%% 产权") % {
                "share": format(share.normalize(), "f")
            }
            sources.append(_source_line(housing.get("owned_record")))
            status = "found"
        elif housing.get("rental_record"):
            summary = _("所填社区有覆盖截止日的租赁备案")
            sources.append(_source_line(housing.get("rental_record")))
            status = "found"
        elif decision.housing_class == "RENT":
            summary = _("已按工作人员采纳的住房材料认定为租赁住房")
            status = "found"
        else:
            summary = _("未查到监护人在所填社区的房产或租赁备案")
            status = "missing"
        if housing.get("owns_elsewhere"):
            summary += _("；另在本市其他社区有房产")
            sources.append(_source_line(housing.get("elsewhere_record")))
        return {"status": status, "summary": summary, "sources": [s for s in sources if s]}
    if key == "social_insurance":
        si = answer.get("social_insurance") or {}
        months = int(si.get("qualifying_months") or 0)
        return {
            "status": "found" if months else "none",
            "summary": _("%(from)s 至 %(to)s 期间，有 %(n)s 个月同时缴纳养老和医疗保险")
            % {
                "from": month(si.get("window_start")),
                "to": month(si.get("window_end")),
                "n": months,
            }
            if si.get("window_start")
            else _("未查到社保缴费记录"),
            "sources": [s for s in [_source_line(si.get("record"))] if s],
        }
    permit = answer.get("permit")
    if not permit:
        return {
            "status": "none",
            "summary": _("未查到居住证（本市户籍的孩子不需要）")
            if decision.hukou_class in ("D", "C")
            else _("未查到居住证"),
        }
    return {
        "status": "found" if permit["qualifies"] else "missing",
        "summary": (
            _("居住证有效期 %(from)s 至 %(to)s，符合要求")
            if permit["qualifies"]
            else _("居住证有效期 %(from)s 至 %(to)s，截止日时未满 12 个月或已失效")
        )
        % {"from": day(permit["issued_on"]), "to": day(permit["expires_on"])},
        "sources": [_source_line(permit.get("record"))],
    }


def _trace_sources(source) -> list[str]:
    if source is None:
        return []
    items = source if isinstance(source, list) else [source]
    lines = []
    for item in items:
        if isinstance(item, dict) and "source" in item and "as_of" in item:
            lines.append(_source_line(item))
        elif isinstance(item, dict) and item.get("record"):
            lines.append(_source_line(item["record"]))
    return lines


def points_lines(decision: Decision) -> list[dict]:
    """The points, line by line, each with the rule of the policy behind it (Decision.trace)."""
    document = decision.policy.document if decision.policy_id else {}
    lines = []
    for item in decision.trace or []:
        # The fact and outcome steps are shown in the verification panel and the headline.
        if item.get("step") in ("fact", "outcome"):
            continue
        label, rule = step_text(item, document)
        lines.append(
            {
                "rule_code": str(item.get("rule", "")),
                "label": label,
                "rule": rule,
                "points": item.get("points"),
                "sources": _trace_sources(item.get("source")),
            }
        )
    return lines


def step_text(item: dict, document: dict) -> tuple[str, str]:
    """One step of a decision's trace in words: what it found (label) and the policy's rule
    behind it (may be empty). The parent's points and the officer's case page both use it."""
    rule = str(item.get("rule", ""))
    if rule.startswith("base_points["):
        return _base_points_text(item, document)
    if rule.startswith("bonus."):
        return _bonus_text(item, document)
    for texts in (_requirement_text, _decision_step_text):
        found = texts(rule, item, document)
        if found is not None:
            return found
    # A step this version does not know: its code, rather than nothing.
    return rule, ""


def _base_points_text(item: dict, document: dict) -> tuple[str, str]:
    rule = str(item.get("rule", ""))
    parts = str(item.get("value", "")).split("+")
    row = rule[len("base_points[") : -1]
    elsewhere = "owns_elsewhere" in parts
    label = _("基础分：%(hukou)s + %(housing)s%(elsewhere)s") % {
        "hukou": HUKOU_CLASSES.get(parts[0], parts[0]),
        "housing": HOUSING_CLASSES.get(parts[1], parts[1]) if len(parts) > 1 else "",
        "elsewhere": _("（本市别处另有住房）") if elsewhere else "",
    }
    return label, _("积分办法 %(version)s 基础分表第 %(row)s 行") % {
        "version": document.get("version", ""),
        "row": int(row) + 1 if row.isdigit() else row,
    }


def _bonus_text(item: dict, document: dict) -> tuple[str, str]:
    cls = str(item.get("rule", "")).split(".", 1)[1]
    bonus = document.get("bonus", {}).get(cls, {})
    if item.get("fact") == "residence_month":
        label = _("居住年限加分：户籍登记满 %(n)s 个月") % {"n": item.get("value")}
    else:
        label = _("社保加分：缴费 %(n)s 个月，超过 %(beyond)s 个月的 %(counted)s 个月计分") % {
            "n": item.get("value"),
            "beyond": bonus.get("beyond", 0),
            "counted": item.get("counted", item.get("value")),
        }
    return label, _("积分办法 %(version)s：%(class)s每月 %(per)s 分，最多 %(cap)s 分") % {
        "version": document.get("version", ""),
        "class": HUKOU_CLASSES.get(cls, cls),
        "per": item.get("per", bonus.get("points", "")),
        "cap": item.get("cap", bonus.get("cap", "")),
    }


def _requirement_text(rule: str, item: dict, document: dict) -> tuple[str, str] | None:
    """The steps that stop or refuse scoring for want of a fact."""
    version = document.get("version", "")
    if rule == "hukou.required":
        return (
            _("未查到孩子户籍，暂不计分"),
            _("需要户籍信息才能计分：可补充材料，由工作人员审核"),
        )
    if rule == "housing.required":
        return (
            _("住房未核实，暂不计分"),
            _("需要住房信息才能计分：可补充材料，由工作人员审核"),
        )
    if rule in ("permit.required", "permit.required_for_N"):
        return (
            _("非本市户籍：未查到符合要求的居住证"),
            _("积分办法 %(version)s：非本市户籍须持有截止日有效、满 %(n)s 个月的居住证")
            % {"version": version, "n": document.get("permit_min_months", 12)},
        )
    if rule == "social_insurance.min_months":
        return (
            _("非本市户籍：社保 %(n)s 个月") % {"n": item.get("value")},
            _("积分办法 %(version)s：非本市户籍须有至少 %(min)s 个月社保")
            % {"version": version, "min": item.get("min", document.get("si_min_months", 12))},
        )
    if rule == "base_points.none":
        return (
            _("基础分表中没有相符的行，基础分为 0"),
            _("积分办法 %(version)s 基础分表") % {"version": version},
        )
    return None


def _decision_step_text(rule: str, item: dict, document: dict) -> tuple[str, str] | None:
    """The facts scoring started from, its outcome, and the changes people made afterwards."""
    if rule == "hukou_class":
        value = item.get("value")
        return _("户籍类别：%(class)s") % {
            "class": HUKOU_CLASSES.get(value, value) if value else _("无记录")
        }, ""
    if rule == "housing_class":
        value = item.get("value")
        return _("住房类别：%(class)s") % {"class": HOUSING_CLASSES.get(value, value)}, ""
    if rule == "outcome":
        return _("结果：%(outcome)s") % {"outcome": outcome_label(item.get("value"))}, ""
    if rule == "officer.override":
        return _("人工改判：%(from)s → %(to)s") % {
            "from": outcome_label(item.get("from")),
            "to": outcome_label(item.get("value")),
        }, str(item.get("reason", ""))
    if rule == "recheck.override":
        return _("复核后更正：%(changes)s") % {
            "changes": pgettext("list separator", "，").join(
                _change_text(name, value) for name, value in item.get("changes", {}).items()
            )
        }, ""
    return None


CHANGE_NAMES = {
    "outcome": gettext_lazy("结果"),
    "total_points": gettext_lazy("总积分"),
    "bonus_points": gettext_lazy("加分"),
    "hukou_class": gettext_lazy("户籍类别"),
    "housing_class": gettext_lazy("住房类别"),
}


def _change_text(name: str, value) -> str:
    shown = {
        "outcome": outcome_label(value),
        "hukou_class": HUKOU_CLASSES.get(value, value),
        "housing_class": HOUSING_CLASSES.get(value, value),
    }.get(name, value)
    return _("%(name)s %(value)s") % {"name": CHANGE_NAMES.get(name, name), "value": shown}


def outcome_label(outcome) -> str:
    return str(dict(Decision.Outcome.choices).get(outcome, outcome or ""))


def reason_lines(decision: Decision) -> list[dict]:
    texts = {
        "CHILD_HUKOU_NOT_FOUND": _(
            "数据库中没有查到孩子的户籍。您可以上传户口簿，或签署告知承诺，由工作人员审核。"
        ),
        "HOUSING_NOT_VERIFIED": _(
            "没有查到您在所填社区的房产或租赁备案。您可以上传房产证或租赁合同，或签署告知承诺。"
        ),
        "PERMIT_MISSING": _(
            "非本市户籍的孩子，需要监护人持有截止日有效、且已办理满 12 个月的居住证。"
        ),
        "SI_MONTHS_BELOW_MIN": _("非本市户籍的孩子，需要监护人至少缴纳 12 个月社保。"),
    }
    return [{"code": code, "text": texts.get(code, code)} for code in decision.reasons or []]


def missing_facts(decision: Decision) -> list[str]:
    """The facts a parent may supply evidence for, from the decision's reasons."""
    if decision.outcome == Decision.Outcome.ELIGIBLE:
        return []
    facts = []
    for code in decision.reasons or []:
        fact = REASON_FACT.get(code)
        if fact and fact not in facts:
            facts.append(str(fact))
    return facts


def client_label(client_id: str, name: str = "") -> str:
    """Who asked: our own system in words, another department by the name the data bureau
    registered for it (its client id when it has none)."""
    if client_id.startswith("edu-"):
        return _("区教育局入学申请系统")
    return name or client_id


def purpose_label(purpose: str) -> str:
    """A lookup's purpose as the registry's audit log keeps it: ours in words, another
    department's as that department wrote it."""
    if purpose == Consent.PURPOSE_ENROLLMENT:
        return _("小学一年级入学资格核验")
    if not (purpose or "").strip():
        return _("未说明用途")
    return purpose


# Why the registry refused a lookup, by the code it refuses with (LookupRefused).
REFUSAL_LABELS = {
    "PURPOSE_MISSING": gettext_lazy("查询未说明用途"),
    "CONSENT_MISSING": gettext_lazy("查询没有附授权编号"),
    "CLIENT_MISMATCH": gettext_lazy("调用方与所用密钥不符"),
    "CONSENT_TOKEN_MISSING": gettext_lazy("授权没有查询部门的签名"),
    "CONSENT_TOKEN_MALFORMED": gettext_lazy("授权凭证无法识别"),
    "CONSENT_CLIENT_MISMATCH": gettext_lazy("授权凭证属于另一个调用方"),
    "CONSENT_KEY_UNKNOWN": gettext_lazy("数据平台没有该部门的授权公钥"),
    "CONSENT_SIGNATURE_INVALID": gettext_lazy("授权凭证的签名不符"),
    "CONSENT_EXPIRED": gettext_lazy("授权凭证已过期"),
    "CONSENT_REFERENCE_MISMATCH": gettext_lazy("授权凭证与授权编号不符"),
    "CONSENT_PURPOSE_MISMATCH": gettext_lazy("授权凭证的用途不符"),
    "CONSENT_SUBJECT_NOT_COVERED": gettext_lazy("查询涉及授权未包含的人"),
}
# The audit log keeps a refusal as "CODE: sentence" (registry.services.verification); entries
# written before the code was kept hold the English sentence alone, and changing them would
# break their hash chain.
REFUSAL_SENTENCES = {
    "a lookup must state its purpose": "PURPOSE_MISSING",
    "every lookup needs a consent reference": "CONSENT_MISSING",
    "X-Road-Client does not match the API key": "CLIENT_MISMATCH",
}


def refusal_label(code: str) -> str:
    """A refusal's code in words; one this version does not know, in general words."""
    return str(REFUSAL_LABELS.get(code) or _("数据平台拒绝了这次查询"))


def audit_refusal_label(sentence: str) -> str:
    """The refusal reason an audit entry holds, in words ("" for an answered lookup)."""
    if not (sentence or "").strip():
        return ""
    code, colon, _rest = sentence.partition(":")
    if colon and code in REFUSAL_LABELS:
        return refusal_label(code)
    return refusal_label(REFUSAL_SENTENCES.get(sentence.strip(), ""))


# A decision's reason codes (DOMAIN.md) in short words; the review queue filters by the code.
DECISION_REASONS = {
    Reason.CHILD_HUKOU_NOT_FOUND: gettext_lazy("未查到孩子户籍"),
    Reason.HOUSING_NOT_VERIFIED: gettext_lazy("住房未能核实"),
    Reason.PERMIT_MISSING: gettext_lazy("没有符合要求的居住证"),
    Reason.SI_MONTHS_BELOW_MIN: gettext_lazy("社保月数不足"),
    Reason.AGE_OUT_OF_RANGE: gettext_lazy("年龄不在入学范围内"),
}


@register.filter
def decision_reason(code: str) -> str:
    """A reason code in words with the code after it, which officers and exports share."""
    label = DECISION_REASONS.get(code)
    if label is None:
        return code
    return _("%(label)s（%(code)s）") % {"label": label, "code": code}


@register.filter
def masked(value: str) -> str:
    return mask(value or "")


@register.filter
def local_day(value) -> str:
    return day(value)
