"""How officers' pages word what the product recorded as codes: why an application's state changed (ApplicationEvent.reason_code) and each step of a decision's trace, in the page's language. A person's own words are shown as typed; nothing here shows an ID number unmasked."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enrollment.models import EventReason, Evidence
from enrollment.portal.vocabulary import (
    HOUSING_CLASSES,
    HUKOU_CLASSES,
    decision_reason,
    step_text,
)
from registry.contract import refusal_label
from registry.idnumber import mask_in_text

EVIDENCE_KINDS = {
    Evidence.Kind.UPLOAD: gettext_lazy("上传文件"),
    Evidence.Kind.COMMITMENT: gettext_lazy("告知承诺"),
    Evidence.Kind.FINDING: gettext_lazy("工作人员认定"),
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
    if code == EventReason.FINDING_ACCEPTED and params.get("fact") in Evidence.Fact.values:
        return _("工作人员认定事实：%(fact)s，已重新计分") % {
            "fact": Evidence.Fact(params["fact"]).label
        }
    if code == EventReason.REGISTRY_UNAVAILABLE and isinstance(params.get("attempts"), int):
        return _("数据平台连续 %(attempts)s 次无法访问，转人工审核") % {
            "attempts": params["attempts"]
        }
    if code == EventReason.LOOKUP_REFUSED and params.get("refusal"):
        return _("数据平台拒绝了查询，转人工审核。原因：%(why)s") % {
            "why": refusal_label(str(params["refusal"]))
        }
    if code == EventReason.COMPETING_APPLICATION and isinstance(params.get("others"), list):
        return _("同一孩子另有申请（%(refs)s），转人工审核：请确认哪一份由孩子的监护人提交") % {
            "refs": "、".join(str(ref) for ref in params["others"])
        }
    if code in EventReason.values:
        return str(EventReason(code).label)
    return _("系统记录的变更")


def evidence_review_label(evidence) -> str:
    """What an officer did with one piece of evidence, or found themselves, in words:
    `采纳证明材料：住房（上传文件）`, `工作人员认定：住房`."""
    fact = Evidence.Fact(evidence.fact).label if evidence.fact in Evidence.Fact.values else ""
    if evidence.kind == Evidence.Kind.FINDING:
        return _("工作人员认定：%(fact)s") % {"fact": fact}
    kind = EVIDENCE_KINDS.get(evidence.kind, evidence.kind)
    if evidence.review == Evidence.Review.ACCEPTED:
        return _("采纳证明材料：%(fact)s（%(kind)s）") % {"fact": fact, "kind": kind}
    return _("不采纳证明材料：%(fact)s（%(kind)s）") % {"fact": fact, "kind": kind}


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
    "guardian_position": gettext_lazy("认定为监护人的是第几位家长"),
    "document": gettext_lazy("证明材料"),
    "hukou_class": gettext_lazy("户籍类别"),
    "registered_on": gettext_lazy("户籍登记日期"),
    "qualifying_months": gettext_lazy("社保缴费月数"),
}


RELATION_DOCUMENTS = {
    "household_booklet": gettext_lazy("户口簿页"),
    "birth_certificate": gettext_lazy("出生医学证明"),
}


def accepted_facts(values: dict) -> list[str]:
    """What accepted evidence established, one "name: value" each."""
    words = {"hukou_class": HUKOU_CLASSES, "document": RELATION_DOCUMENTS}
    return [
        _("%(name)s：%(value)s")
        % {
            "name": ACCEPTED_FACTS.get(name, name),
            "value": words.get(name, {}).get(value, value),
        }
        for name, value in (values or {}).items()
    ]


def guardian_relations(application, decision) -> list[dict]:
    """Each named adult with whether they are a related guardian and on what (the registry's
    household, or evidence an officer accepted); an adult not related has no facts to show."""
    answer = ((decision.facts or {}).get("answer") or {}) if decision else {}
    checked = "related_guardians" in answer
    basis = {
        item.get("guardian_index"): item.get("basis")
        for item in answer.get("related_guardians") or []
    }
    labels = {
        "household": _("与孩子同一户口（户籍核实）"),
        "evidence": _("依采纳的证明材料认定"),
    }
    rows = []
    for index, guardian in enumerate(application.guardians.all()):
        if not checked:
            relation = ""
        elif index in basis:
            relation = labels.get(basis[index], "")
        else:
            relation = _("未能确认监护关系：未查询其住房、社保和居住证")
        rows.append({"guardian": guardian, "relation": relation, "related": index in basis})
    return rows


def trace_step(step: dict, document: dict) -> dict:
    """One step of the trace in the words the parent's points breakdown uses."""
    label, rule = step_text(step, document)
    return {"label": mask_in_text(label), "rule": mask_in_text(rule), "points": step.get("points")}
