"""Evaluates a points policy document against the verified facts of one application."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

from registry.contract import full_months

HUKOU_RANK = {"D": 0, "C": 1, "N": 2}
HOUSING_RANK = {"OWN": 0, "RENT": 1, "NONE": 2}


class Reason:
    CHILD_HUKOU_NOT_FOUND = "CHILD_HUKOU_NOT_FOUND"
    HOUSING_NOT_VERIFIED = "HOUSING_NOT_VERIFIED"
    PERMIT_MISSING = "PERMIT_MISSING"
    SI_MONTHS_BELOW_MIN = "SI_MONTHS_BELOW_MIN"
    AGE_OUT_OF_RANGE = "AGE_OUT_OF_RANGE"


@dataclass(frozen=True)
class Policy:
    document: dict

    @property
    def version(self) -> str:
        return self.document["version"]

    @cached_property
    def cutoff(self) -> date:
        return date.fromisoformat(self.document["cutoff"])

    @cached_property
    def born_from(self) -> date:
        return date.fromisoformat(self.document["age_window"]["born_from"])

    @cached_property
    def born_to(self) -> date:
        return date.fromisoformat(self.document["age_window"]["born_to"])

    def age_ok(self, birth_date: date) -> bool:
        return self.born_from <= birth_date <= self.born_to


@dataclass(frozen=True)
class Facts:
    """What the registry (or an officer, on evidence) established about one family."""

    hukou_class: str | None  # None: the registry has no hukou for the child
    hukou_registered_on: date | None = None
    owned_share_percent: Decimal = Decimal("0")
    has_rental: bool = False
    owns_elsewhere: bool = False
    si_months: int = 0
    permit_qualifies: bool = False
    # An officer accepted evidence of other housing: scored as RENT (DOMAIN.md).
    housing_evidence_accepted: bool = False
    # The records behind each fact, by fact name, to be named in the trace.
    sources: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Score:
    outcome: str
    hukou_class: str
    housing_class: str
    base_points: Decimal
    bonus_points: Decimal
    total_points: Decimal
    residence_months: int
    si_months: int
    reasons: tuple[str, ...]
    trace: tuple[dict, ...]
    policy_version: str


def _housing_class(facts: Facts, policy: Policy) -> str:
    if facts.owned_share_percent >= Decimal(policy.document["ownership_min_share_percent"]):
        return "OWN"
    if facts.has_rental or facts.housing_evidence_accepted:
        return "RENT"
    return "NONE"


def _base_points(hukou: str, housing: str, owns_elsewhere: bool, policy: Policy):
    for index, row in enumerate(policy.document["base_points"]):
        if row["hukou"] != hukou or row["housing"] != housing:
            continue
        if "owns_elsewhere" in row and row["owns_elsewhere"] != owns_elsewhere:
            continue
        return Decimal(row["points"]), index
    return Decimal("0"), None


def score(facts: Facts, policy: Policy) -> Score:
    doc = policy.document
    trace: list[dict] = []
    reasons: list[str] = []

    hukou = facts.hukou_class or ""
    housing = _housing_class(facts, policy)
    residence_months = (
        full_months(facts.hukou_registered_on, policy.cutoff)
        if hukou in ("D", "C") and facts.hukou_registered_on
        else 0
    )
    si_months = facts.si_months

    if not hukou:
        reasons.append(Reason.CHILD_HUKOU_NOT_FOUND)
        trace.append({"rule": "hukou.required", "fact": "child_hukou", "source": None})
    if housing == "NONE":
        reasons.append(Reason.HOUSING_NOT_VERIFIED)
        trace.append({"rule": "housing.required", "fact": "housing", "source": None})

    base = bonus = Decimal("0")
    if hukou and housing != "NONE":
        base, row = _base_points(hukou, housing, facts.owns_elsewhere, policy)
        trace.append(
            {
                "rule": f"base_points[{row}]",
                "fact": "hukou_class+housing_class",
                "value": f"{hukou}+{housing}"
                + ("+owns_elsewhere" if facts.owns_elsewhere and housing == "RENT" else ""),
                "points": str(base),
                "source": [facts.sources.get("child_hukou"), facts.sources.get("housing")],
            }
        )
        rule = doc["bonus"].get(hukou)
        if rule:
            per = Decimal(rule["points"])
            cap = Decimal(rule["cap"])
            if rule["per"] == "residence_month":
                counted = residence_months
                source = facts.sources.get("child_hukou")
            else:
                counted = max(si_months - int(rule.get("beyond", 0)), 0)
                source = facts.sources.get("social_insurance")
            bonus = max(min(per * counted, cap), Decimal("0")).quantize(Decimal("0.1"))
            trace.append(
                {
                    "rule": f"bonus.{hukou}",
                    "fact": rule["per"],
                    "value": counted,
                    "points": str(bonus),
                    "source": source,
                }
            )

    if not reasons and hukou == "N":
        if not facts.permit_qualifies:
            reasons.append(Reason.PERMIT_MISSING)
            trace.append(
                {
                    "rule": "permit.required_for_N",
                    "fact": "residence_permit",
                    "value": False,
                    "source": facts.sources.get("residence_permit"),
                }
            )
        if si_months < int(doc["si_min_months"]):
            reasons.append(Reason.SI_MONTHS_BELOW_MIN)
            trace.append(
                {
                    "rule": "social_insurance.min_months",
                    "fact": "si_months",
                    "value": si_months,
                    "source": facts.sources.get("social_insurance"),
                }
            )

    if Reason.CHILD_HUKOU_NOT_FOUND in reasons or Reason.HOUSING_NOT_VERIFIED in reasons:
        outcome = "needs_review"
    elif reasons:
        outcome = "ineligible"
    else:
        outcome = "eligible"

    return Score(
        outcome=outcome,
        hukou_class=hukou,
        housing_class=housing,
        base_points=base,
        bonus_points=bonus,
        total_points=base + bonus,
        residence_months=residence_months,
        si_months=si_months,
        reasons=tuple(reasons),
        trace=tuple(trace),
        policy_version=policy.version,
    )


def sort_key(
    total_points: Decimal,
    hukou_class: str,
    housing_class: str,
    residence_months: int,
    si_months: int,
    lottery_number: int,
) -> tuple:
    """Higher totals first, then DOMAIN.md's tie-breaks; a total order given distinct lotteries."""
    return (
        -total_points,
        HUKOU_RANK.get(hukou_class, 3),
        HOUSING_RANK.get(housing_class, 3),
        -residence_months,
        -si_months,
        lottery_number,
    )
