"""The portal's words for the product's codes: hukou and housing classes, departments, reason codes, and each step of a decision's trace. Shared by the parents' and the staff pages; nothing here shows an ID number unmasked."""

from datetime import date

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from enrollment.models import Decision, Evidence, Guardian, Offer
from enrollment.policy.engine import Reason
from registry.idnumber import mask

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


def hukou_class_label(code) -> str:
    """A hukou class in words with its letter, which officers also know: `本区户籍（D）`."""
    return _class_label(HUKOU_CLASSES, code)


def housing_class_label(code) -> str:
    """A housing class in words with its code: `租赁住房（RENT）`."""
    return _class_label(HOUSING_CLASSES, code)


def _class_label(words: dict, code) -> str:
    label = words.get(code)
    if label is None:
        return code or "—"
    return _("%(label)s（%(code)s）") % {"label": label, "code": code}


# An offer's state as a school reads it: the family's answer is theirs, not the school's
# (Offer.Status words the parent's own page: "awaiting your answer").
SCHOOL_OFFER_STATUSES = {
    Offer.Status.OFFERED: gettext_lazy("等待家长答复"),
    Offer.Status.ACCEPTED: gettext_lazy("家长已接受"),
    Offer.Status.DECLINED: gettext_lazy("家长已放弃"),
    Offer.Status.EXPIRED: gettext_lazy("家长逾期未答复"),
    Offer.Status.SUPERSEDED: gettext_lazy("已由后续轮次替代"),
    Offer.Status.WITHDRAWN: gettext_lazy("已撤销"),
}


def school_offer_status(status) -> str:
    """An offer's state in a school's words; an unknown state shows as it is stored."""
    return str(SCHOOL_OFFER_STATUSES.get(status, status or ""))


# What a missing fact asks the parent for, by reason code (DOMAIN.md).
REASON_FACT = {
    "CHILD_HUKOU_NOT_FOUND": Evidence.Fact.HUKOU,
    "GUARDIANSHIP_NOT_VERIFIED": Evidence.Fact.RELATION,
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
    if rule == "guardianship.required":
        return (
            _("监护关系未核实，暂不计分"),
            _(
                "需要确认所填监护人与孩子的关系才能计分：可上传户口簿页或出生医学证明，由工作人员审核"
            ),
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
    if rule == "guardianship":
        return (_("监护关系：已核实") if item.get("value") else _("监护关系：未核实")), ""
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


# A decision's reason codes (DOMAIN.md) in short words; the review queue filters by the code.
DECISION_REASONS = {
    Reason.CHILD_HUKOU_NOT_FOUND: gettext_lazy("未查到孩子户籍"),
    Reason.GUARDIANSHIP_NOT_VERIFIED: gettext_lazy("监护关系未能核实"),
    Reason.HOUSING_NOT_VERIFIED: gettext_lazy("住房未能核实"),
    Reason.PERMIT_MISSING: gettext_lazy("没有符合要求的居住证"),
    Reason.SI_MONTHS_BELOW_MIN: gettext_lazy("社保月数不足"),
    Reason.AGE_OUT_OF_RANGE: gettext_lazy("年龄不在入学范围内"),
}


def decision_reason(code: str) -> str:
    """A reason code in words with the code after it, which officers and exports share."""
    label = DECISION_REASONS.get(code)
    if label is None:
        return code
    return _("%(label)s（%(code)s）") % {"label": label, "code": code}


def masked(value: str) -> str:
    return mask(value or "")


def local_day(value) -> str:
    return day(value)
