"""How the portal tells parents what was looked up and found, and how every point was earned. Record keys pass through `mask_in_text`: nothing here shows an ID number unmasked."""

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from enrollment.models import Consent, Decision
from enrollment.portal.vocabulary import (
    DEPARTMENTS,
    HUKOU_CLASSES,
    REASON_FACT,
    SOURCE_NAMES,
    day,
    month,
    step_text,
)
from registry.idnumber import mask_in_text


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
        ("guardianship", _("监护关系"), DEPARTMENTS["hukou"]),
        ("housing", _("家庭住房"), DEPARTMENTS["property"]),
        ("social_insurance", _("社保缴费"), DEPARTMENTS["social_insurance"]),
        ("residence_permit", _("居住证"), DEPARTMENTS["residence_permit"]),
    ]
    answer = (decision.facts or {}).get("answer") if decision else None
    # An answer given before the registry related guardians to the child has no relation to
    # show; its other facts are shown as they were decided.
    if answer is not None and "related_guardians" not in answer:
        facts = [fact for fact in facts if fact[0] != "guardianship"]
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
        if key == "guardianship":
            row.update(_guardianship_found(application, answer, decision))
        elif key != "hukou" and not _guardianship_verified(answer, decision):
            # No adult's facts were looked up: say so, rather than "none found".
            row.update(
                status="not_asked",
                summary=_("未查询：确认监护关系之前，不查询任何成年人的住房、社保和居住证信息"),
            )
        else:
            row.update(_fact_found(key, answer, decision))
        rows.append(row)
    return rows


def withheld_fact_rows() -> list[dict]:
    """What an account the registry did not relate to the child is shown instead of the facts:
    that its own relation is unconfirmed, and how to prove it. Nothing about the child or the
    other adults it named, not even whether they were found."""
    return [
        {
            "key": "guardianship",
            "label": _("监护关系"),
            "department": DEPARTMENTS["hukou"],
            "status": "missing",
            "summary": _(
                "数据平台没有查到您本人与孩子的监护关系。确认之前，这里只显示您提交的申请，"
                "不显示任何核验结果。请上传户口簿中孩子和您本人所在的页面，或孩子的出生医学证明，"
                "由工作人员审核。"
            ),
            "sources": [],
        }
    ]


def _guardianship_verified(answer: dict, decision: Decision) -> bool:
    if "related_guardians" not in answer:
        return True  # decided before the relation was checked
    facts = (decision.facts or {}).get("facts") or {}
    return bool(answer["related_guardians"]) or bool(facts.get("guardianship_verified"))


def _guardianship_found(application, answer: dict, decision: Decision) -> dict:
    """Who of the named adults is related to the child, and on what: the parent's own
    guardians by name, never anything about an adult who is not related."""
    guardians = list(application.guardians.all())
    by_basis: dict[str, list] = {"household": [], "evidence": []}
    sources = []
    for item in answer.get("related_guardians") or []:
        index = item.get("guardian_index")
        if isinstance(index, int) and 0 <= index < len(guardians):
            by_basis.setdefault(item.get("basis"), []).append(guardians[index])
        if item.get("record"):
            sources.append(_source_line(item["record"]))
    if not any(by_basis.values()):
        if _guardianship_verified(answer, decision):
            return {"status": "found", "summary": _("已按工作人员采纳的材料认定监护关系")}
        why = (
            _("没有查到孩子的户籍，无法核对所填监护人与孩子的关系。")
            if not answer.get("child_hukou")
            else _("数据库中没有查到所填监护人与孩子在同一户口，无法确认监护关系。")
        )
        return {
            "status": "missing",
            "summary": why
            + _(
                "请上传户口簿中孩子和监护人所在的页面，或孩子的出生医学证明，由工作人员审核。"
                "确认之前，不会查询、也不会使用任何成年人的住房和社保信息。"
            ),
        }
    parts = []
    if by_basis["household"]:
        parts.append(_("%(names)s与孩子在同一户口") % {"names": _names(by_basis["household"])})
    if by_basis["evidence"]:
        parts.append(
            _("%(names)s已按工作人员采纳的材料认定为监护人")
            % {"names": _names(by_basis["evidence"])}
        )
    return {
        "status": "found",
        "summary": _("%(found)s；住房、社保和居住证只按已确认的监护人查询")
        % {"found": pgettext("list separator", "，").join(parts)},
        "sources": [s for s in dict.fromkeys(sources) if s],
    }


def _names(guardians: list) -> str:
    return pgettext("list separator", "，").join(
        _("%(name)s（%(relation)s）")
        % {"name": guardian.name, "relation": guardian.get_relation_display()}
        for guardian in guardians
    )


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


def reason_lines(decision: Decision) -> list[dict]:
    texts = {
        "CHILD_HUKOU_NOT_FOUND": _(
            "数据库中没有查到孩子的户籍。您可以上传户口簿，或签署告知承诺，由工作人员审核。"
        ),
        "GUARDIANSHIP_NOT_VERIFIED": _(
            "未能确认所填监护人与孩子的关系。请上传户口簿中孩子和监护人所在的页面，"
            "或孩子的出生医学证明，由工作人员审核；确认之前，不会查询任何成年人的住房和社保信息。"
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
