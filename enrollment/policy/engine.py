"""Evaluates a points policy document against the verified facts of one application.

Plain Python with plain data in and out. `score` is the reference: every other way of scoring
(the vectorised what-if in `enrollment.policy.vector`) must give exactly its totals.

A document (see `enrollment.policy.default`) holds the cut-off date, the age window, the
ownership threshold, the base-points table (first matching row wins), the bonus rule per hukou
class, the minimum social-insurance months and the classes that need a residence permit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cached_property

from registry.contract import full_months

HUKOU_CLASSES = ("D", "C", "N")
HOUSING_CLASSES = ("OWN", "RENT", "NONE")
HUKOU_RANK = {"D": 0, "C": 1, "N": 2}
HOUSING_RANK = {"OWN": 0, "RENT": 1, "NONE": 2}
TENTH = Decimal("0.1")


class Reason:
    CHILD_HUKOU_NOT_FOUND = "CHILD_HUKOU_NOT_FOUND"
    GUARDIANSHIP_NOT_VERIFIED = "GUARDIANSHIP_NOT_VERIFIED"
    HOUSING_NOT_VERIFIED = "HOUSING_NOT_VERIFIED"
    PERMIT_MISSING = "PERMIT_MISSING"
    SI_MONTHS_BELOW_MIN = "SI_MONTHS_BELOW_MIN"
    AGE_OUT_OF_RANGE = "AGE_OUT_OF_RANGE"


# Facts that evidence can stand in for, as the trace and the review services name them.
FACT_CHILD_HUKOU = "child_hukou"
FACT_HOUSING = "housing"
FACT_GUARDIANSHIP = "guardianship"


class PolicyInvalid(ValueError):
    """A policy document the engine cannot evaluate; the message names the key at fault."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key


def _points(value, key: str) -> Decimal:
    try:
        points = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise PolicyInvalid(key, "must be a number of points") from None
    if points < 0 or points != points.quantize(TENTH) or points > Decimal("999.9"):
        raise PolicyInvalid(key, "must be between 0 and 999.9 with at most one decimal place")
    return points


def _iso_date(value, key: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PolicyInvalid(key, "must be a date YYYY-MM-DD") from None


def policy_validate(document: dict) -> None:
    """Raise PolicyInvalid naming the first key that is missing or out of shape."""
    if not isinstance(document, dict):
        raise PolicyInvalid("document", "must be an object")
    for key in ("version", "district_code", "city_code", "admission_year", "grade"):
        if key not in document or document[key] in ("", None):
            raise PolicyInvalid(key, "is required")
    _iso_date(document.get("cutoff"), "cutoff")
    window = document.get("age_window") or {}
    if _iso_date(window.get("born_from"), "age_window.born_from") > _iso_date(
        window.get("born_to"), "age_window.born_to"
    ):
        raise PolicyInvalid("age_window", "born_from must not be after born_to")
    share = document.get("ownership_min_share_percent")
    try:
        share_value = Decimal(str(share))
    except (InvalidOperation, ValueError):
        raise PolicyInvalid("ownership_min_share_percent", "must be a percentage") from None
    if not 0 < share_value <= 100 or share_value != share_value.quantize(Decimal("0.01")):
        raise PolicyInvalid("ownership_min_share_percent", "must be in (0, 100], two decimals")
    for key in ("si_window_months", "si_min_months", "permit_min_months"):
        value = document.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 600:
            raise PolicyInvalid(key, "must be a whole number of months from 0 to 600")
    rows = document.get("base_points")
    if not isinstance(rows, list) or not rows:
        raise PolicyInvalid("base_points", "must list at least one row")
    for index, row in enumerate(rows):
        key = f"base_points[{index}]"
        if not isinstance(row, dict):
            raise PolicyInvalid(key, "must be an object")
        if row.get("hukou") not in HUKOU_CLASSES:
            raise PolicyInvalid(f"{key}.hukou", "must be D, C or N")
        if row.get("housing") not in ("OWN", "RENT"):
            raise PolicyInvalid(f"{key}.housing", "must be OWN or RENT")
        if "owns_elsewhere" in row and not isinstance(row["owns_elsewhere"], bool):
            raise PolicyInvalid(f"{key}.owns_elsewhere", "must be true or false")
        _points(row.get("points"), f"{key}.points")
    bonus = document.get("bonus", {})
    if not isinstance(bonus, dict):
        raise PolicyInvalid("bonus", "must be an object keyed by hukou class")
    for hukou, rule in bonus.items():
        key = f"bonus.{hukou}"
        if hukou not in HUKOU_CLASSES or not isinstance(rule, dict):
            raise PolicyInvalid(key, "must be a rule for hukou class D, C or N")
        if rule.get("per") not in ("residence_month", "si_month"):
            raise PolicyInvalid(f"{key}.per", "must be residence_month or si_month")
        beyond = rule.get("beyond", 0)
        if not isinstance(beyond, int) or isinstance(beyond, bool) or beyond < 0:
            raise PolicyInvalid(f"{key}.beyond", "must be a whole number of months")
        _points(rule.get("points"), f"{key}.points")
        _points(rule.get("cap"), f"{key}.cap")
    permit_classes = document.get("permit_required_for", ["N"])
    if not isinstance(permit_classes, list) or set(permit_classes) - set(HUKOU_CLASSES):
        raise PolicyInvalid("permit_required_for", "must list hukou classes")
    si_classes = document.get("si_required_for", ["N"])
    if not isinstance(si_classes, list) or set(si_classes) - set(HUKOU_CLASSES):
        raise PolicyInvalid("si_required_for", "must list hukou classes")


@dataclass(frozen=True)
class BaseRow:
    hukou: str
    housing: str
    owns_elsewhere: bool | None
    points: Decimal


@dataclass(frozen=True)
class BonusRule:
    per: str
    beyond: int
    points: Decimal
    cap: Decimal


@dataclass(frozen=True)
class Policy:
    """A policy document, read once into typed rules."""

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

    @cached_property
    def ownership_min_share(self) -> Decimal:
        return Decimal(str(self.document["ownership_min_share_percent"]))

    @cached_property
    def si_min_months(self) -> int:
        return int(self.document["si_min_months"])

    @cached_property
    def base_rows(self) -> tuple[BaseRow, ...]:
        return tuple(
            BaseRow(
                hukou=row["hukou"],
                housing=row["housing"],
                owns_elsewhere=row.get("owns_elsewhere"),
                points=Decimal(str(row["points"])),
            )
            for row in self.document["base_points"]
        )

    @cached_property
    def bonus_rules(self) -> dict[str, BonusRule]:
        return {
            hukou: BonusRule(
                per=rule["per"],
                beyond=int(rule.get("beyond", 0)),
                points=Decimal(str(rule["points"])),
                cap=Decimal(str(rule["cap"])),
            )
            for hukou, rule in self.document.get("bonus", {}).items()
        }

    @cached_property
    def permit_required_for(self) -> frozenset[str]:
        return frozenset(self.document.get("permit_required_for", ["N"]))

    @cached_property
    def si_required_for(self) -> frozenset[str]:
        return frozenset(self.document.get("si_required_for", ["N"]))

    def age_ok(self, birth_date: date) -> bool:
        return self.born_from <= birth_date <= self.born_to


@dataclass(frozen=True)
class Facts:
    """What the registry (or an officer, on evidence) established about one family."""

    hukou_class: str | None  # None: the registry has no hukou for the child
    # Some named adult is a related guardian (DOMAIN.md, "Guardianship"): the facts below are
    # theirs alone. False when none is: then no adult fact was looked up, none is scored, and
    # no housing, permit or social-insurance reason is given.
    guardianship_verified: bool = True
    hukou_registered_on: date | None = None
    owned_share_percent: Decimal = Decimal("0")
    has_rental: bool = False
    owns_elsewhere: bool = False
    si_months: int = 0
    permit_qualifies: bool = False
    # An officer accepted evidence of other housing: scored as RENT (DOMAIN.md).
    housing_evidence_accepted: bool = False
    # Facts the registry lacks whose evidence an officer has rejected: no longer a question
    # for review, so the application is decided (ineligible) rather than left waiting.
    rejected_on_review: frozenset[str] = frozenset()
    # The record behind each fact, by fact name (registry RecordRef or accepted evidence).
    sources: dict = field(default_factory=dict, compare=False)


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


def housing_class_of(facts: Facts, policy: Policy) -> str:
    if facts.owned_share_percent >= policy.ownership_min_share:
        return "OWN"
    if facts.has_rental or facts.housing_evidence_accepted:
        return "RENT"
    return "NONE"


def _base_row(hukou: str, housing: str, owns_elsewhere: bool, policy: Policy):
    for index, row in enumerate(policy.base_rows):
        if row.hukou != hukou or row.housing != housing:
            continue
        if row.owns_elsewhere is not None and row.owns_elsewhere != owns_elsewhere:
            continue
        return row.points, index
    return Decimal("0"), None


def score(facts: Facts, policy: Policy) -> Score:
    """Points, outcome, reasons and a trace naming the rule and the record behind each step."""
    sources = facts.sources
    trace: list[dict] = []
    reasons: list[str] = []

    hukou = facts.hukou_class or ""
    housing = housing_class_of(facts, policy)
    residence_months = (
        full_months(facts.hukou_registered_on, policy.cutoff)
        if hukou in ("D", "C") and facts.hukou_registered_on
        else 0
    )
    si_months = facts.si_months

    trace.append(
        {
            "step": "fact",
            "rule": "hukou_class",
            "fact": FACT_CHILD_HUKOU,
            "value": hukou or None,
            "registered_on": facts.hukou_registered_on.isoformat()
            if facts.hukou_registered_on
            else None,
            "source": sources.get(FACT_CHILD_HUKOU),
        }
    )
    trace.append(
        {
            "step": "fact",
            "rule": "guardianship",
            "fact": FACT_GUARDIANSHIP,
            "value": facts.guardianship_verified,
            "source": sources.get(FACT_GUARDIANSHIP),
        }
    )
    trace.append(
        {
            "step": "fact",
            "rule": "housing_class",
            "fact": FACT_HOUSING,
            "value": housing,
            "owned_share_percent": str(facts.owned_share_percent),
            "min_share_percent": str(policy.ownership_min_share),
            "owns_elsewhere": facts.owns_elsewhere,
            "evidence_accepted": facts.housing_evidence_accepted,
            "source": sources.get(FACT_HOUSING),
        }
    )

    missing = []
    if not hukou:
        missing.append((Reason.CHILD_HUKOU_NOT_FOUND, FACT_CHILD_HUKOU, "hukou.required"))
    if not facts.guardianship_verified:
        missing.append(
            (Reason.GUARDIANSHIP_NOT_VERIFIED, FACT_GUARDIANSHIP, "guardianship.required")
        )
    elif housing == "NONE":
        missing.append((Reason.HOUSING_NOT_VERIFIED, FACT_HOUSING, "housing.required"))
    for code, fact, rule in missing:
        reasons.append(code)
        trace.append(
            {
                "step": "reason",
                "rule": rule,
                "fact": fact,
                "reason": code,
                "rejected_on_review": fact in facts.rejected_on_review,
                "source": sources.get(fact),
            }
        )

    base = bonus = Decimal("0")
    if not missing:
        base, row = _base_row(hukou, housing, facts.owns_elsewhere, policy)
        trace.append(
            {
                "step": "points",
                "rule": f"base_points[{row}]" if row is not None else "base_points.none",
                "fact": "hukou_class+housing_class",
                "value": f"{hukou}+{housing}"
                + ("+owns_elsewhere" if facts.owns_elsewhere and housing == "RENT" else ""),
                "points": str(base),
                "source": [sources.get(FACT_CHILD_HUKOU), sources.get(FACT_HOUSING)]
                + ([sources.get("owns_elsewhere")] if facts.owns_elsewhere else []),
            }
        )
        rule = policy.bonus_rules.get(hukou)
        if rule:
            if rule.per == "residence_month":
                months, fact = residence_months, FACT_CHILD_HUKOU
            else:
                months, fact = si_months, "social_insurance"
            counted = max(months - rule.beyond, 0)
            bonus = max(min(rule.points * counted, rule.cap), Decimal("0")).quantize(TENTH)
            trace.append(
                {
                    "step": "points",
                    "rule": f"bonus.{hukou}",
                    "fact": rule.per,
                    "value": months,
                    "counted": counted,
                    "per": str(rule.points),
                    "cap": str(rule.cap),
                    "points": str(bonus),
                    "source": sources.get(fact),
                }
            )

    # The permit and social-insurance requirements are listed whenever the related guardians'
    # facts were looked up, also on a case that waits for housing evidence: the officer sees
    # them before asking the family for more.
    if hukou and facts.guardianship_verified:
        if hukou in policy.permit_required_for and not facts.permit_qualifies:
            reasons.append(Reason.PERMIT_MISSING)
            trace.append(
                {
                    "step": "reason",
                    "rule": "permit.required",
                    "fact": "residence_permit",
                    "value": False,
                    "reason": Reason.PERMIT_MISSING,
                    "source": sources.get("residence_permit"),
                }
            )
        if hukou in policy.si_required_for and si_months < policy.si_min_months:
            reasons.append(Reason.SI_MONTHS_BELOW_MIN)
            trace.append(
                {
                    "step": "reason",
                    "rule": "social_insurance.min_months",
                    "fact": "si_months",
                    "value": si_months,
                    "min": policy.si_min_months,
                    "reason": Reason.SI_MONTHS_BELOW_MIN,
                    "source": sources.get("social_insurance"),
                }
            )

    if any(fact not in facts.rejected_on_review for _, fact, _ in missing):
        outcome = "needs_review"
    elif reasons:
        outcome = "ineligible"
    else:
        outcome = "eligible"
    trace.append({"step": "outcome", "rule": "outcome", "value": outcome, "reasons": list(reasons)})

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


# --- compact facts ---------------------------------------------------------------------------
# Facts packed as twelve zero-padded integers of fixed widths in a 36-character string, stored with
# each decision, so that a what-if loads 200,000 of them as one short column and parses them
# as a block of bytes (enrollment.policy.vector.facts_matrix) instead of 200,000 JSON documents.
HUKOU_CODE = {"": 0, "D": 1, "C": 2, "N": 3}
HUKOU_OF_CODE = {code: hukou for hukou, code in HUKOU_CODE.items()}
PACKED_FIELDS = (
    ("hukou", 1),  # 0 none, 1 D, 2 C, 3 N
    ("registered_on", 8),  # YYYYMMDD, 0 when unknown
    ("owned_share", 5),  # hundredths of a percent
    ("has_rental", 1),
    ("owns_elsewhere", 1),
    ("si_months", 3),
    ("permit_qualifies", 1),
    ("housing_evidence_accepted", 1),
    ("hukou_rejected_on_review", 1),
    ("housing_rejected_on_review", 1),
    ("guardianship_verified", 1),
    ("guardianship_rejected_on_review", 1),
)
PACKED_LENGTH = sum(width for _, width in PACKED_FIELDS) + len(PACKED_FIELDS) - 1


def facts_pack(facts: Facts) -> str:
    registered = facts.hukou_registered_on
    values = (
        HUKOU_CODE[facts.hukou_class or ""],
        registered.year * 10000 + registered.month * 100 + registered.day if registered else 0,
        int((facts.owned_share_percent * 100).to_integral_value()),
        int(facts.has_rental),
        int(facts.owns_elsewhere),
        min(facts.si_months, 999),
        int(facts.permit_qualifies),
        int(facts.housing_evidence_accepted),
        int(FACT_CHILD_HUKOU in facts.rejected_on_review),
        int(FACT_HOUSING in facts.rejected_on_review),
        int(facts.guardianship_verified),
        int(FACT_GUARDIANSHIP in facts.rejected_on_review),
    )
    return " ".join(
        f"{value:0{width}d}" for value, (_, width) in zip(values, PACKED_FIELDS, strict=True)
    )


def facts_unpack(packed: str) -> Facts:
    values = [int(v) for v in packed.split()]
    if len(values) != len(PACKED_FIELDS):
        raise ValueError("packed facts have the wrong number of fields")
    (
        hukou,
        registered,
        share,
        rental,
        elsewhere,
        si,
        permit,
        evidence,
        rej_h,
        rej_hs,
        guardianship,
        rej_g,
    ) = values
    return Facts(
        hukou_class=HUKOU_OF_CODE[hukou] or None,
        guardianship_verified=bool(guardianship),
        hukou_registered_on=date(registered // 10000, registered // 100 % 100, registered % 100)
        if registered
        else None,
        owned_share_percent=Decimal(share) / 100,
        has_rental=bool(rental),
        owns_elsewhere=bool(elsewhere),
        si_months=si,
        permit_qualifies=bool(permit),
        housing_evidence_accepted=bool(evidence),
        rejected_on_review=frozenset(
            name
            for name, flag in (
                (FACT_CHILD_HUKOU, rej_h),
                (FACT_HOUSING, rej_hs),
                (FACT_GUARDIANSHIP, rej_g),
            )
            if flag
        ),
    )
