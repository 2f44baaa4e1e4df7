"""The registry's questions and answers: the whole border between enrollment and the registry.

Plain, frozen data that crosses a process boundary as JSON (`to_json` / `from_json`), so the
in-process gateway and the HTTP gateway carry exactly the same thing. The answers say what the
policy asks ("hukou class D, registered on …"), not whole department records, and each names
the record it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class RegistryUnavailable(Exception):
    """The registry did not answer (down, slow or overloaded): the caller retries later."""


class LookupRefused(Exception):
    """The registry refused the lookup (no purpose, no consent reference, no scope)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class RefusalCode(StrEnum):
    """Why the registry refused a lookup: stable codes, the same in-process and over HTTP
    (the API's error `code`). A refusal refuses the whole batch and is audited."""

    PURPOSE_MISSING = "PURPOSE_MISSING"
    CONSENT_MISSING = "CONSENT_MISSING"
    # The X-Road-Client header names another client than the API key's.
    CLIENT_MISMATCH = "CLIENT_MISMATCH"
    # The consent token (registry/consent.py): absent, unreadable, another client's, no key
    # registered for the client, not signed with it, expired, for another consent, for
    # another purpose, or not naming every person asked about.
    CONSENT_TOKEN_MISSING = "CONSENT_TOKEN_MISSING"  # noqa: S105 - a code, not a secret
    CONSENT_TOKEN_MALFORMED = "CONSENT_TOKEN_MALFORMED"  # noqa: S105 - a code, not a secret
    CONSENT_CLIENT_MISMATCH = "CONSENT_CLIENT_MISMATCH"
    CONSENT_KEY_UNKNOWN = "CONSENT_KEY_UNKNOWN"
    CONSENT_SIGNATURE_INVALID = "CONSENT_SIGNATURE_INVALID"
    CONSENT_EXPIRED = "CONSENT_EXPIRED"
    CONSENT_REFERENCE_MISMATCH = "CONSENT_REFERENCE_MISMATCH"
    CONSENT_PURPOSE_MISMATCH = "CONSENT_PURPOSE_MISMATCH"
    CONSENT_SUBJECT_NOT_COVERED = "CONSENT_SUBJECT_NOT_COVERED"
    # A planning question (CohortQuestion): asked for another purpose than planning, naming
    # communities outside its area or cohorts out of range, or with a token for another area.
    PURPOSE_NOT_PLANNING = "PURPOSE_NOT_PLANNING"
    PLANNING_AREA_INVALID = "PLANNING_AREA_INVALID"
    CONSENT_AREA_NOT_COVERED = "CONSENT_AREA_NOT_COVERED"


@dataclass(frozen=True)
class LookupContext:
    """Which department system asks, and for what purpose (X-Road's client and issue)."""

    client_id: str
    purpose: str


@dataclass(frozen=True)
class FamilyQuestion:
    """What the points policy needs to know about one application's family, as of `cutoff`."""

    key: str
    # The consent the family gave for this lookup, and the person on whose behalf it is made
    # (X-Road's user id): every question carries its own.
    consent_reference: str
    end_user: str
    child_id_number: str
    guardian_id_numbers: tuple[str, ...]
    home_community_code: str
    cutoff: date
    district_code: str
    city_code: str
    si_window_months: int = 120
    permit_min_months: int = 12
    # The asking department's signed word for `consent_reference` (registry/consent.py): the
    # registry checks it on its own and refuses the lookup without a valid one.
    consent_token: str = ""
    # Positions in `guardian_id_numbers` (from 0) of the adults whose relation to the child the
    # asking department accepted on evidence (a household-booklet page, a birth certificate):
    # they count as related guardians although the hukou register does not show it.
    related_on_evidence: tuple[int, ...] = ()


@dataclass(frozen=True)
class IdentityQuestion:
    """Does `name` match the hukou record of `id_number`? (二要素核验: name and ID number.)

    Asked when a person binds their account to their real-name identity, with their own
    consent. The answer is yes or no: never the record, and "no" whether the ID number has
    no record or the name differs, so the question cannot tell who is registered.
    """

    key: str
    consent_reference: str
    end_user: str
    id_number: str
    name: str
    # As a family question's: the asking department's signed word for the consent, naming
    # this one person (registry/consent.py).
    consent_token: str = ""


@dataclass(frozen=True)
class IdentityAnswer:
    key: str
    matches: bool
    audit_entry_id: int | None = None


@dataclass(frozen=True)
class RecordRef:
    """The registry record an answer rests on, with its provenance."""

    source: str
    key: str
    batch_id: int
    as_of: date


@dataclass(frozen=True)
class HukouAnswer:
    hukou_class: str  # "D" in the district, "C" elsewhere in the city, "N" outside
    district_code: str
    registered_on: date
    record: RecordRef


@dataclass(frozen=True)
class HousingAnswer:
    # Sum of the guardians' shares on the one certificate in the home community that they hold
    # most of; 0 when they own nothing there.
    owned_share_percent: Decimal = Decimal("0")
    owned_record: RecordRef | None = None
    # A registered rental in the home community naming a guardian and covering the cut-off.
    rental_record: RecordRef | None = None
    # Some guardian holds a share of a property in the city outside the home community.
    owns_elsewhere: bool = False
    elsewhere_record: RecordRef | None = None


@dataclass(frozen=True)
class SocialInsuranceAnswer:
    # Distinct months in the window with both pension and medical paid, for the guardian with
    # the most.
    qualifying_months: int = 0
    guardian_index: int | None = None
    window_start: date | None = None
    window_end: date | None = None
    record: RecordRef | None = None


@dataclass(frozen=True)
class PermitAnswer:
    # Valid on the cut-off and issued at least `permit_min_months` full months before it.
    qualifies: bool
    issued_on: date
    expires_on: date
    record: RecordRef


class RelationBasis(StrEnum):
    """Why a named adult counts as a related guardian (DOMAIN.md, "Guardianship")."""

    # The register holds their hukou in the same household (`household_no`) as the child's.
    HOUSEHOLD = "household"
    # The asking department accepted evidence of the relation (FamilyQuestion.related_on_evidence).
    EVIDENCE = "evidence"


@dataclass(frozen=True)
class GuardianRelation:
    """One named adult who is a related guardian: facts are looked up only for these."""

    guardian_index: int  # position in FamilyQuestion.guardian_id_numbers, from 0
    basis: str  # RelationBasis
    # The adult's hukou record in the child's household (None on evidence alone).
    record: RecordRef | None = None


@dataclass(frozen=True)
class FamilyAnswer:
    key: str
    child_hukou: HukouAnswer | None
    # The named adults who are related guardians, in the order named. Housing, social
    # insurance and the permit rest on these alone; an adult not listed had no facts looked
    # up, and none are returned.
    related_guardians: tuple[GuardianRelation, ...] = ()
    housing: HousingAnswer = field(default_factory=HousingAnswer)
    social_insurance: SocialInsuranceAnswer = field(default_factory=SocialInsuranceAnswer)
    permit: PermitAnswer | None = None
    audit_entry_id: int | None = None


@dataclass(frozen=True)
class LookupRecord:
    """One audit entry about a person, as a parent may see it."""

    at: str
    client_id: str
    purpose: str
    consent_reference: str
    outcome: str
    # The asking department's name as the data bureau registered it ("" when unknown).
    client_name: str = ""


# --- the planning question: counts of children, never people -----------------------------


def entry_cohort_window(admission_year: int) -> tuple[date, date]:
    """The birth dates of the children who start grade 1 in `admission_year` (DOMAIN.md,
    "Demand forecast"): from 1 September seven years before to 31 August six years before."""
    return date(admission_year - 7, 9, 1), date(admission_year - 6, 8, 31)


def entry_cohort_of(birth_date: date) -> int:
    """The admission year whose entry cohort a child born on `birth_date` belongs to."""
    return birth_date.year + (7 if birth_date.month >= 9 else 6)


@dataclass(frozen=True)
class CohortQuestion:
    """How many children of each entry cohort hold a hukou in each community of an area.

    The education bureau asks it to plan seats (purpose `planning`). It names whole
    communities of one area (a district's six-digit code, or the city's four) and whole entry
    cohorts by their admission year, never dates: the registry derives the birth windows
    itself, so no question can narrow a count down to a birthday.
    """

    key: str
    consent_reference: str
    end_user: str
    area_code: str
    community_codes: tuple[str, ...]
    admission_years: tuple[int, ...]
    # The asking department's signed word for this exact area and these cohorts
    # (registry/consent.py, planning tokens).
    consent_token: str = ""


@dataclass(frozen=True)
class CohortAnswer:
    key: str
    # The question's communities and admission years (each once, in the question's order),
    # and children[i][j]: the count of community i and admission year j. None when there are
    # some children but fewer than `min_count`: so few that the count could point at one
    # family, so the registry withholds it. 0 and min_count up are given.
    community_codes: tuple[str, ...] = ()
    admission_years: tuple[int, ...] = ()
    children: tuple[tuple[int | None, ...], ...] = ()
    min_count: int = 0
    # The newest as-of date of the hukou records counted: births after it are not known yet.
    as_of: date | None = None
    audit_entry_id: int | None = None

    def counts(self) -> dict[tuple[str, int], int | None]:
        """{(community, admission year): children or None}."""
        return {
            (community, year): count
            for community, row in zip(self.community_codes, self.children, strict=True)
            for year, count in zip(self.admission_years, row, strict=True)
        }


# --- JSON ---------------------------------------------------------------------------------

_NESTED = {
    "record": RecordRef,
    "owned_record": RecordRef,
    "rental_record": RecordRef,
    "elsewhere_record": RecordRef,
    "child_hukou": HukouAnswer,
    "housing": HousingAnswer,
    "social_insurance": SocialInsuranceAnswer,
    "permit": PermitAnswer,
}
# Fields that are tuples of plain values, and tuples of such tuples.
_TUPLES = {"guardian_id_numbers", "related_on_evidence", "community_codes", "admission_years"}
_MATRICES = {"children"}
_DATES = {
    "cutoff",
    "registered_on",
    "as_of",
    "window_start",
    "window_end",
    "issued_on",
    "expires_on",
}


def to_json(value: Any) -> Any:
    """Dataclasses to JSON-ready dicts: dates as ISO strings, decimals as strings."""
    names = getattr(type(value), "__dataclass_fields__", None)
    if names is not None:
        # Field by field rather than through `asdict`, whose deep copy is most of the cost of
        # auditing a batch of ten thousand answers.
        return {name: to_json(getattr(value, name)) for name in names}
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def from_json(cls: type, data: dict[str, Any] | None) -> Any:
    if data is None:
        return None
    kwargs = {}
    for spec in fields(cls):
        if spec.name not in data:
            continue
        raw = data[spec.name]
        if spec.name in _NESTED:
            kwargs[spec.name] = from_json(_NESTED[spec.name], raw)
        elif spec.name in _DATES and raw is not None:
            kwargs[spec.name] = date.fromisoformat(raw)
        elif spec.name == "owned_share_percent":
            kwargs[spec.name] = Decimal(raw)
        elif spec.name in _MATRICES:
            kwargs[spec.name] = tuple(tuple(row) for row in raw)
        elif spec.name in _TUPLES:
            kwargs[spec.name] = tuple(raw)
        elif spec.name == "related_guardians":
            kwargs[spec.name] = tuple(from_json(GuardianRelation, item) for item in raw)
        else:
            kwargs[spec.name] = raw
    return cls(**kwargs)


def full_months(start: date, end: date) -> int:
    """Full months from `start` to `end`, as DOMAIN.md defines them; never below 0."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return max(months, 0)


def month_window(cutoff: date, months: int) -> tuple[date, date]:
    """The first days of the first and last month of the `months` months ending with cutoff's."""
    last = cutoff.replace(day=1)
    index = last.year * 12 + (last.month - 1) - (months - 1)
    return date(index // 12, index % 12 + 1, 1), last


# --- the contract's vocabulary in words, for every page that shows a lookup -----------------

# The department feeds a lookup reads, as parents, officers and stewards know them.
SOURCE_LABELS = {
    "hukou": gettext_lazy("户籍信息（公安部门）"),
    "property": gettext_lazy("房产登记（住建部门）"),
    "rental": gettext_lazy("租赁备案（住建部门）"),
    "social_insurance": gettext_lazy("社保缴费（人社部门）"),
    "residence_permit": gettext_lazy("居住证（公安部门）"),
}

# The purposes the data bureau has registered, by the code a lookup states.
PURPOSE_PRIMARY_ENROLLMENT = "primary-enrollment-eligibility"
# A parent binding their account to their real-name identity (IdentityQuestion).
PURPOSE_ACCOUNT_IDENTITY = "account-identity-verification"
# Planning seats (DOMAIN.md "Demand forecast"): counts of children per community and entry
# cohort, asked by the education bureau itself; no family's consent, and no person answered.
PURPOSE_PLANNING = "planning"
PURPOSE_LABELS = {
    PURPOSE_PRIMARY_ENROLLMENT: gettext_lazy("小学一年级入学资格核验"),
    PURPOSE_ACCOUNT_IDENTITY: gettext_lazy("家长账户实名核验"),
    PURPOSE_PLANNING: gettext_lazy("学位规划：统计各社区各年龄段的儿童人数"),
}


def client_label(client_id: str, name: str = "") -> str:
    """Who asked: our own system in words, another department by the name the data bureau
    registered for it (its client id when it has none)."""
    if client_id.startswith("edu-"):
        return _("区教育局入学申请系统")
    return name or client_id


def purpose_label(purpose: str) -> str:
    """A lookup's purpose as the registry's audit log keeps it: ours in words, another
    department's as that department wrote it."""
    label = PURPOSE_LABELS.get(purpose)
    if label is not None:
        return str(label)
    if not (purpose or "").strip():
        return _("未说明用途")
    return purpose


# Why the registry refused a lookup, by the code it refuses with (LookupRefused).
REFUSAL_LABELS = {
    "PURPOSE_MISSING": gettext_lazy("查询未说明用途"),
    "CONSENT_MISSING": gettext_lazy("查询没有附授权编号"),
    "CLIENT_MISMATCH": gettext_lazy("调用方与所用密钥不符"),
    "CONSENT_TOKEN_MISSING": gettext_lazy("授权没有查询部门的签名"),
    "CONSENT_TOKEN_MALFORMED": gettext_lazy("授权凭证无法识别"),
    "CONSENT_CLIENT_MISMATCH": gettext_lazy("授权凭证属于另一个调用方"),
    "CONSENT_KEY_UNKNOWN": gettext_lazy("数据平台没有该部门的授权公钥"),
    "CONSENT_SIGNATURE_INVALID": gettext_lazy("授权凭证的签名不符"),
    "CONSENT_EXPIRED": gettext_lazy("授权凭证已过期"),
    "CONSENT_REFERENCE_MISMATCH": gettext_lazy("授权凭证与授权编号不符"),
    "CONSENT_PURPOSE_MISMATCH": gettext_lazy("授权凭证的用途不符"),
    "CONSENT_SUBJECT_NOT_COVERED": gettext_lazy("查询涉及授权未包含的人"),
    "PURPOSE_NOT_PLANNING": gettext_lazy("人数统计只为学位规划提供"),
    "PLANNING_AREA_INVALID": gettext_lazy("统计范围不是本区域的完整社区或入学年份"),
    "CONSENT_AREA_NOT_COVERED": gettext_lazy("授权凭证不包括所查询的社区或年份"),
}


# The audit log keeps a refusal as "CODE: sentence" (registry.services.verification); entries
# written before the code was kept hold the English sentence alone, and changing them would
# break their hash chain.
REFUSAL_SENTENCES = {
    "a lookup must state its purpose": "PURPOSE_MISSING",
    "every lookup needs a consent reference": "CONSENT_MISSING",
    "X-Road-Client does not match the API key": "CLIENT_MISMATCH",
}


def refusal_label(code: str) -> str:
    """A refusal's code in words; one this version does not know, in general words."""
    return str(REFUSAL_LABELS.get(code) or _("数据平台拒绝了这次查询"))


def audit_refusal_label(sentence: str) -> str:
    """The refusal reason an audit entry holds, in words ("" for an answered lookup)."""
    if not (sentence or "").strip():
        return ""
    code, colon, _rest = sentence.partition(":")
    if colon and code in REFUSAL_LABELS:
        return refusal_label(code)
    return refusal_label(REFUSAL_SENTENCES.get(sentence.strip(), ""))
