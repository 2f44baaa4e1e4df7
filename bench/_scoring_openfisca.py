"""The points policy as OpenFisca variables: the scoring benchmark's independent side.

Written from the policy document (DOMAIN.md's rules: base-points rows, first match wins;
bonus rules; the classes that need a permit and insured months) and fed from the families'
facts as drawn, never from the product's packed strings, parser or engine. Outcomes: 0
eligible, 1 ineligible, 2 needs review; points in integer tenths.
"""

from datetime import date
from decimal import Decimal

INPUTS = (
    "hukou",  # 0 none, 1 D, 2 C, 3 N
    "registered_on",  # YYYYMMDD, 0 when unknown
    "owned_share",  # hundredths of a percent
    "has_rental",
    "owns_elsewhere",
    "si_months",
    "permit_qualifies",
    "guardianship",  # some named adult is a related guardian
)
HUKOU = {"D": 1, "C": 2, "N": 3}
OWN, RENT, NONE = 0, 1, 2


def tenths(text) -> int:
    return int(Decimal(str(text)) * 10)


def inputs_of(people) -> dict:
    """The input columns, straight from the drawn facts (`enrollment.policy.Facts`)."""
    import numpy as np

    def column(values):
        return np.fromiter(values, dtype=np.int64, count=len(people))

    return {
        "hukou": column(HUKOU.get(p.hukou_class, 0) for p in people),
        "registered_on": column(
            int(p.hukou_registered_on.strftime("%Y%m%d")) if p.hukou_registered_on else 0
            for p in people
        ),
        "owned_share": column(int(p.owned_share_percent * 100) for p in people),
        "has_rental": column(int(p.has_rental) for p in people),
        "owns_elsewhere": column(int(p.owns_elsewhere) for p in people),
        "si_months": column(p.si_months for p in people),
        "permit_qualifies": column(int(p.permit_qualifies) for p in people),
        "guardianship": column(int(p.guardianship_verified) for p in people),
    }


def openfisca_system(document: dict):
    """The document's policy as OpenFisca variables, one per concept of DOMAIN.md."""
    import numpy as np
    from openfisca_core.entities import build_entity
    from openfisca_core.periods import DateUnit
    from openfisca_core.taxbenefitsystems import TaxBenefitSystem
    from openfisca_core.variables import Variable

    cutoff = date.fromisoformat(document["cutoff"])
    min_share = int(Decimal(document["ownership_min_share_percent"]) * 100)
    si_min = int(document["si_min_months"])
    rows = [
        (HUKOU[row["hukou"]], OWN if row["housing"] == "OWN" else RENT,
         row.get("owns_elsewhere"), tenths(row["points"]))
        for row in document["base_points"]
    ]  # fmt: skip
    bonus_rules = [
        (HUKOU[name], rule["per"], int(rule.get("beyond", 0)), tenths(rule["points"]),
         tenths(rule["cap"]))
        for name, rule in document["bonus"].items()
    ]  # fmt: skip
    permit_for = [HUKOU[name] for name in document["permit_required_for"]]
    si_for = [HUKOU[name] for name in document["si_required_for"]]
    application = build_entity(
        key="application", plural="applications", label="An application", is_person=True
    )

    def integer(name: str, label: str, formula=None):
        attributes = {
            "value_type": int,
            "entity": application,
            "definition_period": DateUnit.YEAR,
            "label": label,
        }
        if formula is not None:
            attributes["formula"] = formula
        return type(name, (Variable,), attributes)

    def housing_class(a, period, parameters):
        own = a("owned_share", period) >= min_share
        return np.where(own, OWN, np.where(a("has_rental", period) == 1, RENT, NONE))

    def residence_months(a, period, parameters):
        registered = a("registered_on", period)
        hukou = a("hukou", period)
        months = (cutoff.year - registered // 10000) * 12 + (cutoff.month - registered // 100 % 100)
        months = np.maximum(months - (cutoff.day < registered % 100), 0)
        return np.where(((hukou == 1) | (hukou == 2)) & (registered > 0), months, 0)

    def scored(a, period, parameters):
        missing = (
            (a("hukou", period) == 0)
            | (a("guardianship", period) == 0)
            | (a("housing_class", period) == NONE)
        )
        return np.where(missing, 0, 1)

    def base_tenths(a, period, parameters):
        hukou, housing = a("hukou", period), a("housing_class", period)
        elsewhere = a("owns_elsewhere", period) == 1
        conditions, points = [], []
        for row_hukou, row_housing, row_elsewhere, row_points in rows:
            match = (hukou == row_hukou) & (housing == row_housing)
            if row_elsewhere is not None:
                match &= elsewhere == bool(row_elsewhere)
            conditions.append(match)
            points.append(row_points)
        return np.where(a("scored", period) == 1, np.select(conditions, points, 0), 0)

    def bonus_tenths(a, period, parameters):
        hukou = a("hukou", period)
        bonus = np.zeros(len(hukou), dtype=np.int64)
        for rule_hukou, per, beyond, points, cap in bonus_rules:
            months = a("residence_months" if per == "residence_month" else "si_months", period)
            value = np.minimum(np.maximum(months - beyond, 0) * points, cap)
            bonus = np.where(hukou == rule_hukou, value, bonus)
        return np.where(a("scored", period) == 1, bonus, 0)

    def total_tenths(a, period, parameters):
        return a("base_tenths", period) + a("bonus_tenths", period)

    def outcome(a, period, parameters):
        hukou = a("hukou", period)
        short = (np.isin(hukou, permit_for) & (a("permit_qualifies", period) == 0)) | (
            np.isin(hukou, si_for) & (a("si_months", period) < si_min)
        )
        return np.where(a("scored", period) == 0, 2, np.where(short, 1, 0))

    formulas = [
        integer("housing_class", "0 OWN, 1 RENT, 2 NONE", housing_class),
        integer("residence_months", "full months registered before the cut-off", residence_months),
        integer("scored", "hukou, a related guardian and housing all known", scored),
        integer("base_tenths", "base points, in tenths", base_tenths),
        integer("bonus_tenths", "bonus points, in tenths", bonus_tenths),
        integer("total_tenths", "total points, in tenths", total_tenths),
        integer("outcome", "0 eligible, 1 ineligible, 2 needs review", outcome),
    ]
    system = TaxBenefitSystem([application])
    system.add_variables(*(integer(name, name) for name in INPUTS), *formulas)
    return system


def openfisca_score(system, columns: dict, year: int):
    """(total_tenths, outcome) for every application, in order."""
    from openfisca_core.simulation_builder import SimulationBuilder

    count = len(columns["hukou"])
    simulation = SimulationBuilder().build_default_simulation(system, count=count)
    for name in INPUTS:
        simulation.set_input(name, str(year), columns[name])
    return simulation.calculate("total_tenths", str(year)), simulation.calculate(
        "outcome", str(year)
    )
