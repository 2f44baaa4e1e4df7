"""DOMAIN.md's seven worked examples, as pure engine tests and through the verification
service against registry rows; the default document; policy installation."""

from datetime import date
from decimal import Decimal

import pytest

from enrollment.errors import ApplicationError, ErrorCode, ValidationErrors
from enrollment.models import Application, AuditLog, Decision, PolicyDocument
from enrollment.policy import (
    Facts,
    Policy,
    PolicyInvalid,
    default_policy_document,
    facts_pack,
    facts_unpack,
    policy_validate,
    score,
)
from enrollment.policy.vector import HOUSING_NAMES, OUTCOMES, facts_matrix, score_many
from enrollment.services.policies import policy_active, policy_install, policy_install_default
from tests.conftest import YEAR
from tests.enrollment.factories import UserFactory
from tests.enrollment.pipeline_support import (
    child_id,
    guardian_id,
    submit,
    verify_all,
    worked_example,
)

POLICY = Policy(default_policy_document(admission_year=2027))
HUKOU = {"source": "hukou", "key": "H1", "batch_id": 1, "as_of": "2027-03-01"}
FLAT = {"source": "property", "key": "CERT-1", "batch_id": 2, "as_of": "2027-03-01"}


def _summary(result):
    return (
        result.outcome,
        result.hukou_class,
        result.housing_class,
        result.base_points,
        result.bonus_points,
        result.total_points,
        result.residence_months,
        result.reasons,
    )


# --- pure engine ------------------------------------------------------------------------------


def test_example_1_district_hukou_and_own_flat():
    facts = Facts(
        hukou_class="D",
        hukou_registered_on=date(2019, 6, 15),
        owned_share_percent=Decimal("100"),
        sources={"child_hukou": HUKOU, "housing": FLAT},
    )

    result = score(facts, POLICY)

    assert _summary(result) == (
        "eligible",
        "D",
        "OWN",
        Decimal("100"),
        Decimal("9.3"),
        Decimal("109.3"),
        93,
        (),
    )
    base = next(step for step in result.trace if step["rule"] == "base_points[0]")
    assert base["points"] == "100"
    assert base["source"] == [HUKOU, FLAT]
    bonus = next(step for step in result.trace if step["rule"] == "bonus.D")
    assert (bonus["value"], bonus["points"], bonus["source"]) == (93, "9.3", HUKOU)
    assert result.policy_version == "2027.1"


def test_example_2_city_hukou_and_shares_adding_to_sixty_percent():
    facts = Facts(
        hukou_class="C", hukou_registered_on=date(2025, 1, 20), owned_share_percent=Decimal("60")
    )

    assert _summary(score(facts, POLICY)) == (
        "eligible",
        "C",
        "OWN",
        Decimal("95"),
        Decimal("2.6"),
        Decimal("97.6"),
        26,
        (),
    )


def test_example_3_renting_at_home_while_owning_elsewhere_is_75():
    facts = Facts(
        hukou_class="D",
        hukou_registered_on=date(2020, 6, 1),
        has_rental=True,
        owns_elsewhere=True,
    )

    result = score(facts, POLICY)

    assert _summary(result) == (
        "eligible",
        "D",
        "RENT",
        Decimal("75"),
        Decimal("8.1"),
        Decimal("83.1"),
        81,
        (),
    )
    assert any(step["rule"] == "base_points[4]" for step in result.trace)


def test_renting_at_home_owning_nothing_elsewhere_is_90():
    facts = Facts(hukou_class="D", hukou_registered_on=date(2020, 6, 1), has_rental=True)

    assert score(facts, POLICY).base_points == Decimal("90")


def test_example_4_non_city_hukou_with_permit_and_40_months():
    facts = Facts(hukou_class="N", has_rental=True, si_months=40, permit_qualifies=True)

    assert _summary(score(facts, POLICY)) == (
        "eligible",
        "N",
        "RENT",
        Decimal("60"),
        Decimal("2.8"),
        Decimal("62.8"),
        0,
        (),
    )


def test_example_5_permit_too_recent_is_ineligible():
    facts = Facts(hukou_class="N", has_rental=True, si_months=40, permit_qualifies=False)

    result = score(facts, POLICY)

    assert (result.outcome, result.reasons) == ("ineligible", ("PERMIT_MISSING",))
    assert result.total_points == Decimal("62.8")


def test_example_9_housing_not_verified_also_lists_the_missing_permit():
    # As 4, but the rental names nobody of the family and the permit was issued 2026-06-01.
    facts = Facts(hukou_class="N", has_rental=False, si_months=40, permit_qualifies=False)

    result = score(facts, POLICY)

    assert _summary(result) == (
        "needs_review",
        "N",
        "NONE",
        Decimal("0"),
        Decimal("0"),
        Decimal("0"),
        0,
        ("HOUSING_NOT_VERIFIED", "PERMIT_MISSING"),
    )
    assert [step["reason"] for step in result.trace if step["step"] == "reason"] == [
        "HOUSING_NOT_VERIFIED",
        "PERMIT_MISSING",
    ]
    # The column-wise scorer gives the same outcome, housing class and points.
    columns = score_many(facts_matrix([facts_pack(facts)]), POLICY)
    assert (
        OUTCOMES[columns.outcome[0]],
        HOUSING_NAMES[columns.housing[0]],
        int(columns.total_tenths[0]),
    ) == ("needs_review", "NONE", 0)


def test_example_9_with_its_housing_accepted_is_decided_on_the_permit_alone():
    facts = Facts(
        hukou_class="N", si_months=40, permit_qualifies=False, housing_evidence_accepted=True
    )

    result = score(facts, POLICY)

    assert (result.outcome, result.reasons, result.total_points) == (
        "ineligible",
        ("PERMIT_MISSING",),
        Decimal("62.8"),
    )
    columns = score_many(facts_matrix([facts_pack(facts)]), POLICY)
    assert (OUTCOMES[columns.outcome[0]], int(columns.total_tenths[0])) == ("ineligible", 628)


def test_example_6_child_born_after_the_window_fails_the_age_check():
    assert POLICY.age_ok(date(2021, 9, 1)) is False
    assert POLICY.age_ok(date(2021, 8, 31)) is True
    assert POLICY.age_ok(date(2019, 9, 1)) is True
    assert POLICY.age_ok(date(2019, 8, 31)) is False


def test_example_7_no_child_hukou_needs_review_and_scores_nothing():
    facts = Facts(hukou_class=None, owned_share_percent=Decimal("100"))

    result = score(facts, POLICY)

    assert _summary(result) == (
        "needs_review",
        "",
        "OWN",
        Decimal("0"),
        Decimal("0"),
        Decimal("0"),
        0,
        ("CHILD_HUKOU_NOT_FOUND",),
    )


def test_reasons_keep_domain_order_and_both_missing_facts_are_named():
    result = score(Facts(hukou_class=None), POLICY)

    assert result.reasons == ("CHILD_HUKOU_NOT_FOUND", "HOUSING_NOT_VERIFIED")
    assert result.outcome == "needs_review"


def test_non_city_family_short_of_both_permit_and_months_gets_both_reasons():
    result = score(Facts(hukou_class="N", has_rental=True, si_months=11), POLICY)

    assert (result.outcome, result.reasons) == (
        "ineligible",
        ("PERMIT_MISSING", "SI_MONTHS_BELOW_MIN"),
    )
    assert result.bonus_points == Decimal("0.0")


def test_bonus_is_capped_at_ten_points():
    facts = Facts(hukou_class="D", hukou_registered_on=date(2010, 1, 1), has_rental=True)

    result = score(facts, POLICY)

    assert (result.residence_months, result.bonus_points, result.total_points) == (
        206,
        Decimal("10.0"),
        Decimal("100.0"),
    )


def test_accepted_housing_evidence_scores_as_rent():
    facts = Facts(
        hukou_class="C", hukou_registered_on=date(2025, 1, 20), housing_evidence_accepted=True
    )

    result = score(facts, POLICY)

    assert (result.outcome, result.housing_class, result.total_points) == (
        "eligible",
        "RENT",
        Decimal("72.6"),
    )


def test_a_missing_fact_whose_evidence_was_rejected_is_decided_ineligible():
    facts = Facts(
        hukou_class="D",
        hukou_registered_on=date(2020, 6, 1),
        rejected_on_review=frozenset({"housing"}),
    )

    result = score(facts, POLICY)

    assert (result.outcome, result.reasons) == ("ineligible", ("HOUSING_NOT_VERIFIED",))


def test_packed_facts_round_trip():
    facts = Facts(
        hukou_class="C",
        hukou_registered_on=date(2025, 1, 20),
        owned_share_percent=Decimal("33.33"),
        has_rental=True,
        owns_elsewhere=True,
        si_months=17,
        permit_qualifies=True,
        housing_evidence_accepted=True,
        rejected_on_review=frozenset({"child_hukou"}),
    )

    assert facts_pack(facts) == "2 20250120 03333 1 1 017 1 1 1 0 1 0"
    assert facts_unpack(facts_pack(facts)) == facts


def test_packed_facts_keep_an_unverified_guardianship_and_its_rejection():
    facts = Facts(
        hukou_class="D",
        hukou_registered_on=date(2019, 6, 15),
        guardianship_verified=False,
        rejected_on_review=frozenset({"guardianship"}),
    )

    assert facts_pack(facts) == "1 20190615 00000 0 0 000 0 0 0 0 0 1"
    assert facts_unpack(facts_pack(facts)) == facts


def test_without_a_related_guardian_only_guardianship_is_listed_and_nothing_scored():
    # given: a class N child whose named adult is not related; the facts of adults are empty,
    # as the registry looks none up
    facts = Facts(
        hukou_class="N", hukou_registered_on=date(2020, 4, 1), guardianship_verified=False
    )

    result = score(facts, POLICY)

    assert (result.outcome, result.reasons, result.total_points) == (
        "needs_review",
        ("GUARDIANSHIP_NOT_VERIFIED",),
        Decimal("0"),
    )
    step = next(item for item in result.trace if item["rule"] == "guardianship.required")
    assert (step["reason"], step["fact"]) == ("GUARDIANSHIP_NOT_VERIFIED", "guardianship")


def test_a_rejected_relation_closes_the_question_as_ineligible():
    facts = Facts(
        hukou_class="D",
        hukou_registered_on=date(2019, 6, 15),
        guardianship_verified=False,
        rejected_on_review=frozenset({"guardianship"}),
    )

    result = score(facts, POLICY)

    assert (result.outcome, result.reasons) == ("ineligible", ("GUARDIANSHIP_NOT_VERIFIED",))


def test_a_case_waiting_for_housing_lists_the_permit_and_insurance_codes_that_apply():
    # given: class N, no housing, no qualifying permit, 5 insured months
    facts = Facts(hukou_class="N", hukou_registered_on=date(2020, 4, 1), si_months=5)

    result = score(facts, POLICY)

    assert (result.outcome, result.reasons, result.total_points) == (
        "needs_review",
        ("HOUSING_NOT_VERIFIED", "PERMIT_MISSING", "SI_MONTHS_BELOW_MIN"),
        Decimal("0"),
    )


def test_a_changed_document_changes_the_score():
    document = default_policy_document(admission_year=2027)
    document["base_points"][0]["points"] = "110"
    document["bonus"]["D"]["cap"] = "5.0"
    facts = Facts(
        hukou_class="D", hukou_registered_on=date(2019, 6, 15), owned_share_percent=Decimal("100")
    )

    assert score(facts, Policy(document)).total_points == Decimal("115.0")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda d: d.pop("cutoff"), "cutoff"),
        (lambda d: d["base_points"][1].update(points="9.55"), "base_points[1].points"),
        (lambda d: d["base_points"][2].update(hukou="X"), "base_points[2].hukou"),
        (lambda d: d["bonus"]["N"].update(per="days"), "bonus.N.per"),
        (lambda d: d.update(si_min_months="12"), "si_min_months"),
        (lambda d: d.update(ownership_min_share_percent="150"), "ownership_min_share_percent"),
    ],
)
def test_invalid_documents_name_the_key_at_fault(change, key):
    document = default_policy_document(admission_year=2027)
    change(document)

    with pytest.raises(PolicyInvalid) as refused:
        policy_validate(document)

    assert refused.value.key == key


def test_the_default_document_is_valid():
    policy_validate(default_policy_document(admission_year=2030, district_code="440605"))


# --- through the verification service with registry rows -------------------------------------

pytestmark_db = pytest.mark.django_db

EXPECTED = {
    1: ("eligible", "D", "OWN", Decimal("100.0"), Decimal("9.3"), Decimal("109.3"), 93, 0, []),
    2: ("eligible", "C", "OWN", Decimal("95.0"), Decimal("2.6"), Decimal("97.6"), 26, 0, []),
    3: ("eligible", "D", "RENT", Decimal("75.0"), Decimal("8.1"), Decimal("83.1"), 81, 0, []),
    4: ("eligible", "N", "RENT", Decimal("60.0"), Decimal("2.8"), Decimal("62.8"), 0, 40, []),
    5: (
        "ineligible",
        "N",
        "RENT",
        Decimal("60.0"),
        Decimal("2.8"),
        Decimal("62.8"),
        0,
        40,
        ["PERMIT_MISSING"],
    ),
    # No hukou for the child: the relation cannot be checked, so no adult fact is looked up
    # (the mother's flat in the registry is not found, and housing is not asked about).
    7: (
        "needs_review",
        "",
        "NONE",
        Decimal("0.0"),
        Decimal("0.0"),
        Decimal("0.0"),
        0,
        0,
        ["CHILD_HUKOU_NOT_FOUND", "GUARDIANSHIP_NOT_VERIFIED"],
    ),
    # As 1, but the mother's hukou is in another household: her flat does not count.
    8: (
        "needs_review",
        "D",
        "NONE",
        Decimal("0.0"),
        Decimal("0.0"),
        Decimal("0.0"),
        93,
        0,
        ["GUARDIANSHIP_NOT_VERIFIED"],
    ),
    # As 4, with nobody of the family on the rental and a permit issued 2026-06-01.
    9: (
        "needs_review",
        "N",
        "NONE",
        Decimal("0.0"),
        Decimal("0.0"),
        Decimal("0.0"),
        0,
        40,
        ["HOUSING_NOT_VERIFIED", "PERMIT_MISSING"],
    ),
}


@pytestmark_db
@pytest.mark.parametrize("number", sorted(EXPECTED))
def test_worked_example_through_the_verification_service(district, number):
    # given
    application = worked_example(number)

    # when
    result = verify_all()

    # then
    assert (result.claimed, result.decided) == (1, 1)
    decision = Decision.objects.get(application=application, is_current=True)
    assert (
        decision.outcome,
        decision.hukou_class,
        decision.housing_class,
        decision.base_points,
        decision.bonus_points,
        decision.total_points,
        decision.residence_months,
        decision.si_months,
        decision.reasons,
    ) == EXPECTED[number]
    assert decision.policy.version == "2027.1"
    assert decision.basis == "computed"
    application.refresh_from_db()
    assert application.state == ("needs_review" if number in (7, 8, 9) else "decided")


@pytestmark_db
def test_decision_names_the_registry_record_behind_each_point(district):
    application = worked_example(1)

    verify_all()

    decision = Decision.objects.get(application=application)
    hukou_source = decision.facts["facts"]["sources"]["child_hukou"]
    housing_source = decision.facts["facts"]["sources"]["housing"]
    assert hukou_source["source"] == "hukou"
    assert hukou_source["key"].startswith("H")
    assert housing_source["source"] == "property"
    assert decision.facts["answer"]["child_hukou"]["registered_on"] == "2019-06-15"
    base = next(step for step in decision.trace if step["rule"] == "base_points[0]")
    assert base["source"] == [hukou_source, housing_source]
    assert decision.facts_packed == "1 20190615 10000 0 0 000 0 0 0 0 1 0"


@pytestmark_db
def test_example_6_submission_refused_and_nothing_stored(district):
    too_young = child_id(6, birth=date(2021, 9, 1))

    with pytest.raises(ValidationErrors) as refused:
        submit(child=too_young, guardians=[guardian_id(6)])

    assert refused.value.code == ErrorCode.AGE_OUT_OF_RANGE
    assert Application.objects.count() == 0


# --- installing policies ---------------------------------------------------------------------


@pytestmark_db
def test_install_default_is_idempotent_and_activates_once():
    first = policy_install_default(admission_year=YEAR)
    second = policy_install_default(admission_year=YEAR)

    assert first.pk == second.pk
    assert first.is_active
    assert PolicyDocument.objects.count() == 1
    assert policy_active(district_code="440604", admission_year=YEAR).version == "2027.1"


@pytestmark_db
def test_a_new_version_replaces_the_active_one_and_is_audited(policy):
    officer = UserFactory(officer=True)
    document = {**policy.document, "version": "2027.2", "si_min_months": 24}

    installed = policy_install(document=document, actor=officer, reason="council decision 12")

    assert policy_active(district_code="440604", admission_year=YEAR).pk == installed.pk
    assert PolicyDocument.objects.get(pk=policy.pk).is_active is False
    log = AuditLog.objects.get(action="policy.install")
    assert (log.actor, log.reason, log.data) == (
        officer,
        "council decision 12",
        {"version": "2027.2", "active": True},
    )


@pytestmark_db
def test_same_version_with_other_rules_is_refused(policy):
    document = {**policy.document, "si_min_months": 24}

    with pytest.raises(ApplicationError) as refused:
        policy_install(document=document)

    assert refused.value.field == "document.version"
    assert PolicyDocument.objects.get().document["si_min_months"] == 12


@pytestmark_db
def test_invalid_document_is_refused_with_its_key(policy):
    document = {**policy.document, "version": "2027.3", "cutoff": "31/03/2027"}

    with pytest.raises(ApplicationError) as refused:
        policy_install(document=document)

    assert refused.value.field == "document.cutoff"
    assert PolicyDocument.objects.count() == 1
