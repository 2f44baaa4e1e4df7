"""Eligible applications built through the real submit service, for the allocation tests."""

from datetime import date
from decimal import Decimal
from itertools import count

from enrollment.models import Application, ApplicationState, Decision
from enrollment.services.applications import (
    ApplicationInput,
    PersonInput,
    application_submit,
    application_transition,
)
from registry import idnumber
from tests.conftest import HOME, YEAR

_sequence = count(1)


def decided_application(
    *,
    policy,
    prefs: list[str],
    parent=None,
    home: str = HOME,
    points: str = "100",
    hukou: str = "D",
    housing: str = "OWN",
    residence_months: int = 0,
    si_months: int = 0,
    outcome: str = Decision.Outcome.ELIGIBLE,
    ref: str = "",
    guardian_name: str = "李美玲",
    child_name: str = "陈小明",
) -> Application:
    """Submitted as a parent would, then decided with the given points (as verification would)."""
    n = next(_sequence)
    child = idnumber.make("440604", date(2020, 1 + n // 1000 % 12, 1 + n % 28), n % 997)
    # A parent applying online names themselves; the counter's families have mothers of their own.
    mother = (
        parent.verified_id_number if parent else idnumber.make("440604", date(1990, 7, 1), n % 1000)
    )
    application = application_submit(
        data=ApplicationInput(
            admission_year=YEAR,
            child=PersonInput(name=child_name, id_number=child),
            guardians=[PersonInput(name=guardian_name, id_number=mother, relation="mother")],
            home_community_code=home,
            home_address="禅城区示范路1号",
            preferences=prefs,
            consent_given_by=mother,
            ref=ref,
        ),
        actor=parent,
        enqueue=False,
    )
    Decision.objects.create(
        application=application,
        policy=policy,
        outcome=outcome,
        hukou_class=hukou,
        housing_class=housing,
        base_points=Decimal(points),
        total_points=Decimal(points),
        residence_months=residence_months,
        si_months=si_months,
    )
    application_transition(application=application, to_state=ApplicationState.VERIFYING)
    application_transition(application=application, to_state=ApplicationState.DECIDED)
    return application
