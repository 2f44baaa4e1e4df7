"""The verification service: DOMAIN.md's facts, set-based queries, refusals audited."""

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry import idnumber
from registry.contract import (
    FamilyQuestion,
    GuardianRelation,
    HousingAnswer,
    LookupContext,
    LookupRefused,
    RecordRef,
    month_window,
    to_json,
)
from registry.models import AuditEntry, AuditSubject, HukouRecord, SocialInsuranceRecord
from registry.selectors import lookups_about
from registry.services.verification import verify_families
from tests.registry.factories import (
    HukouRecordFactory,
    PropertyRecordFactory,
    RentalRecordFactory,
    ResidencePermitRecordFactory,
    SocialInsuranceRecordFactory,
    signed,
)

pytestmark = pytest.mark.django_db

CUTOFF = date(2027, 3, 31)
HOME = "440604010003"
CHILD = idnumber.make("440605", date(2020, 3, 15), 123)
FATHER = idnumber.make("445202", date(1988, 1, 1), 111)
MOTHER = idnumber.make("445202", date(1990, 7, 1), 222)
CONTEXT = LookupContext(client_id="edu-440604", purpose="enrollment-2027")


def question(key="A1", child=CHILD, guardians=(FATHER, MOTHER), consent="consent-1"):
    """A question with the education bureau's consent token for it."""
    return signed(
        FamilyQuestion(
            key=key,
            consent_reference=consent,
            end_user="user:1",
            child_id_number=child,
            guardian_id_numbers=tuple(guardians),
            home_community_code=HOME,
            cutoff=CUTOFF,
            district_code="440604",
            city_code="4406",
        ),
        purpose=CONTEXT.purpose,
    )


def family(*adults: str, **child):
    """The child's hukou row, and the named adults' in the same household (related
    guardians: DOMAIN.md's examples 1-5)."""
    row = HukouRecordFactory(id_number=CHILD, **child)
    for adult in adults or (FATHER, MOTHER):
        HukouRecordFactory(id_number=adult, household_no=row.household_no)
    return row


def test_two_guardians_shares_on_one_certificate_add_up_example_2():
    # given: DOMAIN.md example 2: hukou 440605 registered 2025-01-20, 30 % + 30 % at home
    family(hukou_district_code="440605", registered_on=date(2025, 1, 20))
    PropertyRecordFactory(certificate_no="C1", owner_id_number=FATHER, share_percent=Decimal("30"))
    PropertyRecordFactory(certificate_no="C1", owner_id_number=MOTHER, share_percent=Decimal("30"))
    PropertyRecordFactory(certificate_no="C2", owner_id_number=MOTHER, share_percent=Decimal("45"))

    (answer,) = verify_families(questions=[question()], context=CONTEXT)

    assert (answer.child_hukou.hukou_class, answer.child_hukou.registered_on) == (
        "C",
        date(2025, 1, 20),
    )
    assert answer.housing.owned_share_percent == Decimal("60")
    assert answer.housing.owned_record.key == "C1"
    assert (answer.housing.rental_record, answer.housing.owns_elsewhere) == (None, False)


def test_rental_covering_the_cutoff_and_a_flat_elsewhere_example_3():
    family(hukou_district_code="440604")
    RentalRecordFactory(
        registration_no="R-ended",
        tenant_id_number=MOTHER,
        start_date=date(2025, 9, 1),
        end_date=date(2027, 3, 30),
    )
    RentalRecordFactory(
        registration_no="R-now",
        tenant_id_number=MOTHER,
        start_date=date(2026, 9, 1),
        end_date=date(2027, 8, 31),
    )
    PropertyRecordFactory(
        certificate_no="C-elsewhere", owner_id_number=FATHER, community_code="440604011001"
    )
    PropertyRecordFactory(
        certificate_no="C-outside", owner_id_number=MOTHER, community_code="445202001001"
    )

    (answer,) = verify_families(questions=[question()], context=CONTEXT)

    assert answer.child_hukou.hukou_class == "D"
    assert answer.housing.rental_record.key == "R-now"
    assert answer.housing.owned_share_percent == Decimal("0")
    assert answer.housing.owns_elsewhere is True
    assert answer.housing.elsewhere_record.key == "C-elsewhere"


def test_a_rental_ending_before_the_cutoff_is_not_housing():
    RentalRecordFactory(
        tenant_id_number=FATHER, start_date=date(2026, 4, 1), end_date=date(2027, 3, 30)
    )

    (answer,) = verify_families(questions=[question()], context=CONTEXT)

    assert answer.housing.rental_record is None
    assert answer.child_hukou is None


def test_insured_months_count_both_contributions_inside_the_120_month_window():
    # given: 40 months with both ending March 2027 (example 4), 3 with pension only, one
    # month just before the window and one after the cut-off; the mother has 10
    family()
    window_start, window_end = month_window(CUTOFF, 120)
    assert (window_start, window_end) == (date(2017, 4, 1), date(2027, 3, 1))
    for offset in range(40):
        index = 2027 * 12 + 2 - offset
        SocialInsuranceRecordFactory(id_number=FATHER, month=date(index // 12, index % 12 + 1, 1))
    for month in (date(2023, 1, 1), date(2023, 2, 1), date(2023, 3, 1)):
        SocialInsuranceRecordFactory(id_number=FATHER, month=month, medical=False)
    SocialInsuranceRecordFactory(id_number=FATHER, month=date(2017, 3, 1))
    SocialInsuranceRecordFactory(id_number=FATHER, month=date(2027, 4, 1))
    for month in range(1, 11):
        SocialInsuranceRecordFactory(id_number=MOTHER, month=date(2026, month, 1))

    (answer,) = verify_families(questions=[question()], context=CONTEXT)

    assert answer.social_insurance.qualifying_months == 40
    assert answer.social_insurance.guardian_index == 0
    assert (answer.social_insurance.window_start, answer.social_insurance.window_end) == (
        date(2017, 4, 1),
        date(2027, 3, 1),
    )
    # The record named is the father's latest qualifying month, with its batch and date.
    latest = SocialInsuranceRecord.objects.get(id_number=FATHER, month=date(2027, 3, 1))
    assert answer.social_insurance.record == RecordRef(
        source="social_insurance",
        key=f"{FATHER} 2027-03",
        batch_id=latest.batch_id,
        as_of=date(2027, 3, 1),
    )


def test_no_insured_month_names_no_record():
    family()
    SocialInsuranceRecordFactory(id_number=FATHER, month=date(2026, 1, 1), pension=False)

    (answer,) = verify_families(questions=[question()], context=CONTEXT)

    assert (answer.social_insurance.qualifying_months, answer.social_insurance.record) == (0, None)


@pytest.mark.parametrize(
    ("issued_on", "expires_on", "qualifies"),
    [
        (date(2024, 5, 1), date(2028, 5, 1), True),  # example 4
        (date(2026, 6, 1), date(2028, 6, 1), False),  # example 5: too recent
        (date(2026, 3, 31), date(2028, 3, 31), True),  # exactly 12 full months
        (date(2026, 4, 1), date(2028, 4, 1), False),  # 11 full months
        (date(2022, 1, 1), date(2027, 3, 30), False),  # expired the day before the cut-off
        (date(2022, 1, 1), date(2027, 3, 31), True),  # valid on the cut-off itself
    ],
)
def test_permit_qualifies_when_valid_on_cutoff_and_issued_12_full_months_before(
    issued_on, expires_on, qualifies
):
    family()
    ResidencePermitRecordFactory(
        permit_no="P1", id_number=MOTHER, issued_on=issued_on, expires_on=expires_on
    )

    (answer,) = verify_families(questions=[question()], context=CONTEXT)

    assert (answer.permit.qualifies, answer.permit.issued_on) == (qualifies, issued_on)
    assert answer.permit.record.key == "P1"


def test_each_answer_is_audited_with_hashed_subjects():
    answers = verify_families(questions=[question("A1"), question("A2")], context=CONTEXT)

    entries = list(AuditEntry.objects.order_by("id"))
    assert [e.outcome for e in entries] == ["answered", "answered"]
    assert [a.audit_entry_id for a in answers] == [e.id for e in entries]
    assert AuditSubject.objects.filter(entry=entries[0]).count() == 3
    assert not AuditSubject.objects.filter(digest__in=[CHILD, FATHER, MOTHER]).exists()


@pytest.mark.parametrize(
    ("context", "consent", "code"),
    [
        (LookupContext(client_id="edu-440604", purpose=" "), "consent-1", "PURPOSE_MISSING"),
        (CONTEXT, "", "CONSENT_MISSING"),
    ],
)
def test_no_purpose_or_no_consent_is_refused_audited_and_nothing_is_answered(
    context, consent, code
):
    HukouRecordFactory(id_number=CHILD)

    with pytest.raises(LookupRefused) as error:
        verify_families(
            questions=[question("A1"), question("A2", consent=consent)], context=context
        )

    assert error.value.code == code
    assert list(AuditEntry.objects.values_list("outcome", flat=True)) == ["refused", "refused"]
    assert not AuditEntry.objects.filter(outcome="answered").exists()


def test_a_batch_of_1000_families_costs_a_handful_of_queries(django_assert_max_num_queries):
    questions = [
        question(
            f"A{n}",
            child=idnumber.make("440604", date(2020, 1, 1 + n % 28), n % 499 * 2 + 1),
            guardians=(
                idnumber.make("440604", date(1990, 1, 1 + n % 28), n % 499 * 2 + 1),
                idnumber.make("440604", date(1991, 1, 1 + n % 28), n % 499 * 2 + 2),
            ),
        )
        for n in range(1000)
    ]
    HukouRecordFactory(id_number=questions[0].child_id_number)
    verify_families(questions=[question("A-earlier")], context=CONTEXT)  # the chain exists

    # The client's consent keys, six reads (the children's hukou, the named adults' hukou in
    # those households, then one per other department table for the related guardians), then
    # the audit append: savepoint, chain lock, head, ids, head update, release. (Its two COPY
    # streams bypass Django's query log.)
    with django_assert_max_num_queries(13):
        answers = verify_families(questions=questions, context=CONTEXT)

    assert len(answers) == 1000
    assert answers[0].child_hukou.hukou_class == "D"
    assert AuditEntry.objects.count() == 1001


# --- guardianship (DOMAIN.md): facts of related guardians only ------------------------------

ADULT_TABLES = (
    "registry_propertyrecord",
    "registry_rentalrecord",
    "registry_residencepermitrecord",
    "registry_socialinsurancerecord",
)


def _adult_facts_of(adult: str) -> None:
    """A flat at home, a rental, a qualifying permit and 40 insured months: everything a
    family would like to borrow."""
    PropertyRecordFactory(certificate_no="C-ADULT", owner_id_number=adult, community_code=HOME)
    RentalRecordFactory(registration_no="R-ADULT", tenant_id_number=adult, community_code=HOME)
    ResidencePermitRecordFactory(permit_no="P-ADULT", id_number=adult)
    for offset in range(40):
        index = 2027 * 12 + 2 - offset
        SocialInsuranceRecordFactory(id_number=adult, month=date(index // 12, index % 12 + 1, 1))


def _queries_naming(captured, id_number: str) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if id_number in q["sql"]]


def _adult_table_queries(captured) -> list[str]:
    return [
        q["sql"]
        for q in captured.captured_queries
        if any(f'"{table}"' in q["sql"] for table in ADULT_TABLES)
    ]


def test_example_7_without_the_childs_hukou_nothing_about_the_adults_is_looked_up():
    # given: no hukou row for the child; the mother's own rows are all there
    HukouRecordFactory(id_number=MOTHER, household_no="H-MOTHER")
    _adult_facts_of(MOTHER)

    with CaptureQueriesContext(connection) as captured:
        (answer,) = verify_families(questions=[question(guardians=(MOTHER,))], context=CONTEXT)

    assert (answer.child_hukou, answer.related_guardians) == (None, ())
    assert answer.housing == HousingAnswer()
    assert (answer.social_insurance.qualifying_months, answer.permit) == (0, None)
    assert _adult_table_queries(captured) == []
    # Her number was only checked against the consent and written, hashed, to the audit log.
    assert [sql for sql in _queries_naming(captured, MOTHER) if "registry_hukourecord" in sql] == []


def test_example_8_an_adult_in_another_household_is_not_related_and_her_flat_not_read():
    # given: DOMAIN.md example 1's family, but the mother's hukou is in another household
    HukouRecordFactory(
        id_number=CHILD, hukou_district_code="440604", registered_on=date(2019, 6, 15),
        household_no="H-CHILD",
    )  # fmt: skip
    HukouRecordFactory(id_number=MOTHER, household_no="H-MOTHER")
    _adult_facts_of(MOTHER)

    with CaptureQueriesContext(connection) as captured:
        (answer,) = verify_families(questions=[question(guardians=(MOTHER,))], context=CONTEXT)

    assert answer.child_hukou.hukou_class == "D"
    assert answer.related_guardians == ()
    assert answer.housing == HousingAnswer()
    assert (answer.social_insurance.qualifying_months, answer.permit) == (0, None)
    assert _adult_table_queries(captured) == []
    crossing = str(to_json(answer))
    for value in ("C-ADULT", "R-ADULT", "P-ADULT", "H-MOTHER"):
        assert value not in crossing


def test_a_stranger_named_beside_the_real_parent_lends_the_family_nothing():
    # given: the father shares the child's household and has nothing; the "mother" is a
    # stranger with a flat, a rental, a permit and a pension in another household
    child = family(FATHER, registered_on=date(2019, 6, 15))
    HukouRecordFactory(id_number=MOTHER, household_no="H-STRANGER")
    _adult_facts_of(MOTHER)

    with CaptureQueriesContext(connection) as captured:
        (answer,) = verify_families(questions=[question()], context=CONTEXT)

    father_row = HukouRecord.objects.get(id_number=FATHER)
    assert answer.related_guardians == (
        GuardianRelation(
            guardian_index=0,
            basis="household",
            record=RecordRef(
                source="hukou",
                key=child.household_no,
                batch_id=father_row.batch_id,
                as_of=father_row.as_of,
            ),
        ),
    )
    assert answer.housing == HousingAnswer()
    assert (answer.social_insurance.qualifying_months, answer.permit) == (0, None)
    # The stranger's number reached only the household comparison, never a fact table.
    assert _adult_table_queries(captured) != []
    assert all(
        "registry_hukourecord" in sql and "H-STRANGER" not in sql
        for sql in _queries_naming(captured, MOTHER)
        if sql.lstrip().upper().startswith("SELECT")
    )
    assert not any(MOTHER in sql for sql in _adult_table_queries(captured))
    crossing = str(to_json(answer))
    for value in ("C-ADULT", "R-ADULT", "P-ADULT", "H-STRANGER"):
        assert value not in crossing
    # Named in the question, the stranger is a subject of the lookup: "who looked at my data"
    # shows them that someone asked (their hukou household was compared).
    assert [record.outcome for record in lookups_about(id_numbers=[MOTHER])] == ["answered"]


def test_an_adult_accepted_on_evidence_is_related_and_their_facts_are_looked_up():
    HukouRecordFactory(id_number=CHILD, household_no="H-CHILD")
    HukouRecordFactory(id_number=MOTHER, household_no="H-MOTHER")
    _adult_facts_of(MOTHER)
    asked = dataclasses.replace(question(guardians=(FATHER, MOTHER)), related_on_evidence=(1,))

    (answer,) = verify_families(questions=[asked], context=CONTEXT)

    assert answer.related_guardians == (GuardianRelation(guardian_index=1, basis="evidence"),)
    assert (answer.housing.owned_share_percent, answer.housing.owned_record.key) == (
        Decimal("100"),
        "C-ADULT",
    )
    assert answer.social_insurance.guardian_index == 1


def test_an_empty_household_number_never_relates_anyone():
    HukouRecordFactory(id_number=CHILD, household_no="")
    HukouRecordFactory(id_number=FATHER, household_no="")
    _adult_facts_of(FATHER)

    (answer,) = verify_families(questions=[question(guardians=(FATHER,))], context=CONTEXT)

    assert answer.related_guardians == ()
    assert answer.housing == HousingAnswer()
