"""The verification service: DOMAIN.md's facts, set-based queries, refusals audited."""

from datetime import date
from decimal import Decimal

import pytest

from registry import idnumber
from registry.contract import FamilyQuestion, LookupContext, LookupRefused, month_window
from registry.models import AuditEntry, AuditSubject
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


def test_two_guardians_shares_on_one_certificate_add_up_example_2():
    # given: DOMAIN.md example 2: hukou 440605 registered 2025-01-20, 30 % + 30 % at home
    HukouRecordFactory(
        id_number=CHILD, hukou_district_code="440605", registered_on=date(2025, 1, 20)
    )
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
    HukouRecordFactory(id_number=CHILD, hukou_district_code="440604")
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

    # The client's consent keys, five reads, one per department table, then the audit append:
    # savepoint, chain lock, head, ids, head update, release. (Its two COPY streams bypass
    # Django's query log.)
    with django_assert_max_num_queries(12):
        answers = verify_families(questions=questions, context=CONTEXT)

    assert len(answers) == 1000
    assert answers[0].child_hukou.hukou_class == "D"
    assert AuditEntry.objects.count() == 1001
