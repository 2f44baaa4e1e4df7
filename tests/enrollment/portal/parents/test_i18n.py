"""Every visible string is translated: pages in English carry no Chinese outside data values,
pages in Chinese carry no stray English words, and the catalogue has no empty or fuzzy entry."""

import dataclasses
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from enrollment.models import Community, PolicyDocument, School, User
from registry import idnumber
from registry.models import PropertyRecord
from tests.conftest import PARENT_ID_NUMBER, ROOT
from tests.enrollment.factories import UserFactory
from tests.enrollment.portal.parents.conftest import signed_in, submit
from tests.enrollment.portal.parents.test_status import _allocate_and_publish

pytestmark = pytest.mark.django_db


CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")
IDEOGRAPHS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
ENGLISH_WORD = re.compile(r"\b[A-Za-z]{3,}\b")
# Attributes a person hears or sees.
VISIBLE_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt"}
# Words that are the same in both languages: file formats, the English switch, units.
SHARED_WORDS = {"English", "CSV", "Excel", "PDF", "JPG", "PNG", "JSON"}


class VisibleText(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "svg"):
            self.skip += 1
        for name, value in attrs:
            if value and (
                name in VISIBLE_ATTRIBUTES
                or (name == "value" and dict(attrs).get("type") in ("submit", "button"))
            ):
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "svg") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return "\n".join(parser.parts)


def data_values() -> list[str]:
    """Names people and places carry; they stay as they are in every language."""
    values = ["简体中文", "陈小明", "李美玲", "陈大文", "王小红"]
    values += list(School.objects.values_list("name", flat=True))
    values += list(Community.objects.values_list("name", flat=True))
    values += list(School.objects.values_list("address", flat=True))
    # A district names its points policy in its own words, as it names its schools.
    values += [d.get("name", "") for d in PolicyDocument.objects.values_list("document", flat=True)]
    # Registry record keys (certificate numbers) are shown as the department wrote them.
    values += list(PropertyRecord.objects.values_list("certificate_no", flat=True))
    for first, last in User.objects.values_list("first_name", "last_name"):
        values += [first, last]
    return sorted({v for v in values if v}, key=len, reverse=True)


def untranslated_chinese(html: str, pattern=CJK) -> list[str]:
    text = visible_text(html)
    for value in data_values():
        text = text.replace(value, "")
    return pattern.findall(text)


def stray_english(html: str, refs: list[str]) -> list[str]:
    text = visible_text(html)
    for value in refs:
        text = text.replace(value, "")
    return [w for w in ENGLISH_WORD.findall(text) if w not in SHARED_WORDS]


@pytest.fixture
def pages(district, parent, officer, registry_example_1):
    """Every parent page in each of its states, as (name, url, client)."""
    from datetime import date
    from decimal import Decimal

    from registry import idnumber
    from tests.conftest import HOME
    from tests.registry.factories import PropertyRecordFactory

    decided = submit(parent=parent, ref="A0000000I18N")
    # A second child with no hukou in the registry: needs review, with the evidence form.
    lone_child = idnumber.make("440604", date(2020, 7, 7), 811)
    lone_mother = PARENT_ID_NUMBER  # the parent applies naming themselves
    PropertyRecordFactory(
        owner_id_number=lone_mother, share_percent=Decimal("100"), community_code=HOME
    )
    review = submit(
        parent=parent, child=lone_child, guardian=lone_mother, name="王小红", ref="A0000000REVW"
    )
    _allocate_and_publish(officer)
    client = signed_in(parent)
    # A draft through every step, so that each step's page renders with its data.
    client.post(
        reverse("apply-step", args=["child"]),
        {"child_name": "陈小明", "child_id_number": idnumber.make("440604", date(2020, 1, 2), 901)},
    )
    client.post(
        reverse("apply-step", args=["guardians"]),
        {
            "guardian1_name": "李美玲",
            "guardian1_relation": "mother",
            "guardian1_id_number": idnumber.make("440604", date(1988, 1, 2), 902),
        },
    )
    client.post(
        reverse("apply-step", args=["home"]),
        {"home_community_code": HOME, "school_1": "S440604001"},
    )
    anonymous = Client()
    unverified = signed_in(UserFactory(username="13700000088"))
    urls = [
        ("home", reverse("home"), client),
        ("child", reverse("apply-step", args=["child"]), client),
        ("guardians", reverse("apply-step", args=["guardians"]), client),
        ("home-step", reverse("apply-step", args=["home"]), client),
        ("consent", reverse("apply-step", args=["consent"]), client),
        ("decided", reverse("application-detail", args=[decided.ref]), client),
        ("review", reverse("application-detail", args=[review.ref]), client),
        ("live", reverse("application-live", args=[decided.ref]), client),
        ("lookups", reverse("application-lookups", args=[decided.ref]), client),
        ("not-found", reverse("application-detail", args=["A-NOT-MINE"]), client),
        ("identity", reverse("identity-verify"), unverified),
        ("identity-required", reverse("apply-start"), unverified),
        ("identity-done", reverse("identity-verify"), client),
        ("password", reverse("password-change"), client),
        ("login", reverse("login"), anonymous),
        ("signup", reverse("signup"), anonymous),
    ]
    return urls, [
        decided.ref,
        review.ref,
        decided.consent.reference,
        settings.REGISTRY_CLIENT_ID,
    ]


def _get(client, url, language):
    client.cookies["django_language"] = language
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language)


def test_every_parent_page_in_english_has_no_chinese_outside_data_values(pages):
    urls, _refs = pages
    for name, url, client in urls:
        response = _get(client, url, "en")
        assert response.status_code in (200, 403, 404), (name, response.status_code)
        html = response.content.decode()
        assert untranslated_chinese(html) == [], name
        if name != "live":
            assert '<html lang="en">' in html, name


def test_every_parent_page_in_chinese_has_no_stray_english(pages):
    urls, refs = pages
    for name, url, client in urls:
        html = _get(client, url, "zh-hans").content.decode()
        assert stray_english(html, refs) == [], name
        if name != "live":
            assert '<html lang="zh-Hans">' in html, name


def test_validation_messages_in_english_are_translated(district, parent):
    from datetime import date

    from registry import idnumber

    client = signed_in(parent, language="en")
    too_young = idnumber.make("440604", date(2021, 9, 1), 123)

    check = client.post(
        reverse("apply-check"),
        {"field": "child_id_number", "child_id_number": too_young},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    step = client.post(
        reverse("apply-step", args=["child"]),
        {"child_name": "", "child_id_number": "12345"},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert (
        "To start grade 1 in 2027, a child must be born between Sept. 1, 2019 and Aug. 31, 2021."
        in check.content.decode()
    )
    assert untranslated_chinese(step.content.decode()) == []
    assert "An ID number has 18 characters; this one has 5." in step.content.decode()


def test_the_lockout_page_is_translated():
    from tests.enrollment.factories import UserFactory

    UserFactory(username="13800138000", password="Qiuzhi-2027-xue")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for _attempt in range(5):
        locked = client.post(reverse("login"), {"username": "13800138000", "password": "no"})

    assert locked.status_code == 429
    assert "Account locked for now" in locked.content.decode()
    assert untranslated_chinese(locked.content.decode()) == []


def _catalogue_entries(path: Path) -> list[dict]:
    entries, current, field = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if current:
                entries.append(current)
            current, field = None, None
            continue
        current = current or {"flags": "", "msgid": "", "msgstr": []}
        if line.startswith("#,"):
            current["flags"] += line
        elif line.startswith("msgid "):
            field = "msgid"
            current["msgid"] = line[6:].strip('"')
        elif line.startswith("msgid_plural"):
            field = None
        elif line.startswith("msgstr"):
            field = "msgstr"
            current["msgstr"].append(line.split(" ", 1)[1].strip('"'))
        elif line.startswith('"') and field == "msgid":
            current["msgid"] += line.strip('"')
        elif line.startswith('"') and field == "msgstr":
            current["msgstr"][-1] += line.strip('"')
    return entries


def test_the_english_catalogue_has_no_empty_or_fuzzy_entry():
    po = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
    entries = [e for e in _catalogue_entries(po) if e["msgid"]]

    assert len(entries) > 400
    assert [e["msgid"] for e in entries if not all(e["msgstr"])] == []
    assert [e["msgid"] for e in entries if "fuzzy" in e["flags"]] == []
    assert [e["msgid"] for e in entries if CJK.search("".join(e["msgstr"]))] == []


def test_the_compiled_catalogue_matches_the_po_file(tmp_path):
    po = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
    fresh = tmp_path / "django.mo"

    subprocess.run(["msgfmt", "--check-format", "-o", str(fresh), str(po)], check=True, timeout=60)

    assert fresh.read_bytes() == po.with_suffix(".mo").read_bytes()


def test_every_staff_page_in_english_has_no_chinese_outside_data_values(
    decided, parent, officer, school_staff
):
    """Words and punctuation alike: a full-width bracket around a value is Chinese too."""
    from enrollment.services.allocation import allocation_run_create, allocation_run_execute
    from enrollment.services.rechecks import recheck_request, recheck_resolve
    from enrollment.services.review import evidence_review, evidence_submit
    from tests.enrollment.factories import UserFactory
    from tests.registry.factories import ImportBatchFactory

    # A commitment about the hukou, accepted with the facts it states: the case shows who
    # reviewed it, why, and what was established.
    commitment = evidence_submit(
        application=decided,
        actor=parent,
        fact="hukou",
        kind="commitment",
        statement="We have lived here since 2019.",
    )
    evidence_review(
        actor=officer,
        evidence=commitment,
        accept=True,
        reason="Matches the police record",
        values={"hukou_class": "D", "registered_on": "2019-06-15"},
    )
    run = _allocate_and_publish(officer)
    dry_run = allocation_run_execute(
        run_id=allocation_run_create(
            admission_year=2027,
            seed=8,
            actor=officer,
            district_code="440604",
            dry_run=True,
            enqueue=False,
        ).pk
    )
    recheck = recheck_request(application=decided, actor=parent, reason="Points look low")
    recheck_resolve(recheck=recheck, actor=officer, result="upheld", reason="Checked again")
    steward = UserFactory(role="steward", username="steward1", district_code="440604")
    batch = ImportBatchFactory()
    pages = [
        (officer, reverse("staff:officer-dashboard")),
        (officer, reverse("staff:officer-review")),
        (officer, reverse("staff:officer-case", args=[decided.ref])),
        (officer, reverse("staff:officer-allocation")),
        (officer, reverse("staff:officer-run", args=[run.pk])),
        (officer, reverse("staff:officer-run-progress", args=[run.pk])),
        (officer, reverse("staff:officer-runs-compare") + f"?a={run.pk}&b={dry_run.pk}"),
        (officer, reverse("staff:officer-rechecks") + "?status="),
        (officer, reverse("staff:officer-recheck", args=[recheck.pk])),
        (officer, reverse("staff:officer-schools")),
        (officer, reverse("staff:officer-whatif")),
        (school_staff, reverse("staff:school-admitted")),
        (steward, reverse("steward:imports")),
        (steward, reverse("steward:import", args=[batch.pk])),
        (steward, reverse("steward:audit")),
    ]
    for user, url in pages:
        response = signed_in(user, "en").get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200, url
        assert untranslated_chinese(response.content.decode()) == [], url


# --- pages that word codes: a case's history, rejected feed rows, the registry's audit log ---

# What people typed: shown as typed, in whatever language they wrote it.
WORDS = [
    "户口迁入手续办理中",
    "与公安记录一致",
    "以户籍材料为准",
    "积分偏低",
    "补录社保",
    "数据已更正",
    "搬家了",
]


@pytest.fixture
def coded_pages(decided, parent, officer, monkeypatch, tmp_path, settings):
    """A case whose history holds an event of every kind the product writes, each through the
    service that writes it; import batches with rejections of many codes (and one from before
    codes); the audit log with answered and refused lookups about the child. Returns the pages
    as (name, url, user) and the values shown as they are (references, identifiers)."""
    from datetime import date

    from enrollment.gateway import LookupRefused, RegistryUnavailable, get_gateway
    from enrollment.models import EventReason, PolicyDocument
    from enrollment.services.applications import application_transition, application_withdraw
    from enrollment.services.findings import decision_override, finding_accept
    from enrollment.services.rechecks import recheck_request, recheck_resolve
    from enrollment.services.review import evidence_review, evidence_submit, verification_retry
    from registry.contract import FamilyQuestion, LookupContext
    from registry.contract import LookupRefused as RegistryRefused
    from registry.feeds.specs import FEEDS
    from registry.loading.imports import registry_import_file
    from registry.models import HukouRecord, ImportBatch
    from registry.services.audit import AuditItem, audit_append
    from registry.services.verification import verify_families
    from tests.conftest import HOME
    from tests.enrollment.factories import UserFactory
    from tests.enrollment.pipeline_support import verify_all
    from tests.enrollment.portal.parents.conftest import CHILD, MOTHER
    from tests.registry.factories import HukouRecordFactory, ImportBatchFactory

    case = decided
    commitment = evidence_submit(
        application=case, actor=parent, fact="hukou", kind="commitment", statement=WORDS[0]
    )
    evidence_review(
        actor=officer,
        evidence=commitment,
        accept=True,
        reason=WORDS[1],
        values={"hukou_class": "D", "registered_on": "2019-06-15"},
    )
    decision_override(actor=officer, application=case, outcome="ineligible", reason=WORDS[2])
    finding_accept(actor=officer, application=case, fact="housing", reason=WORDS[1])
    _allocate_and_publish(officer)
    recheck = recheck_request(application=case, actor=parent, reason=WORDS[3])
    recheck_resolve(
        recheck=recheck,
        actor=officer,
        result="changed",
        reason=WORDS[4],
        changes={"outcome": "eligible", "total_points": "95.0"},
    )
    gateway = get_gateway()

    def down(**kwargs):
        raise RegistryUnavailable("registry answered HTTP 503")

    def refuse(**kwargs):
        raise LookupRefused("CONSENT_MISSING", "every lookup needs a consent reference")

    settings.VERIFICATION_MAX_ATTEMPTS = 2
    verification_retry(actor=officer, application=case, reason=WORDS[5])
    with monkeypatch.context() as patch:
        patch.setattr(gateway, "verify_families", down)
        with pytest.raises(RegistryUnavailable):
            verify_all()
        verify_all()
    verification_retry(actor=officer, application=case, reason=WORDS[5])
    with monkeypatch.context() as patch:
        patch.setattr(gateway, "verify_families", refuse)
        verify_all()
    verification_retry(actor=officer, application=case, reason=WORDS[5])
    PolicyDocument.objects.update(is_active=False)
    verify_all()
    PolicyDocument.objects.update(is_active=True)
    verification_retry(actor=officer, application=case, reason=WORDS[5])
    verify_all()
    # A verification that did not relate the applying account sends the case to an officer
    # (services.verification), who has it verified again.
    application_transition(
        application=case,
        to_state="needs_review",
        actor_label="worker",
        reason_code=EventReason.APPLICANT_NOT_RELATED,
    )
    verification_retry(actor=officer, application=case, reason=WORDS[5])
    verify_all()
    # The father applies from his own account too (he is in the child's household): which of
    # the two speaks for the child is an officer's to say, so the decided case goes to one.
    father_id = idnumber.make("440604", date(1980, 8, 8), 771)
    HukouRecordFactory(
        id_number=father_id, household_no=HukouRecord.objects.get(id_number=CHILD).household_no
    )
    father = UserFactory(username="13700000077", identity=father_id)
    submit(parent=father, child=CHILD, guardian=father_id, ref="A0000000FTHR")
    application_withdraw(application=case, actor=parent, reason=WORDS[6])
    assert set(case.events.values_list("reason_code", flat=True)) == set(EventReason.values)

    # The registry refuses two lookups about the child, and a department's refusal it wrote in
    # words this version does not know (with an ID number in them).
    question = FamilyQuestion(
        key=case.ref,
        consent_reference=case.consent.reference,
        end_user="counter",
        child_id_number=CHILD,
        guardian_id_numbers=(MOTHER,),
        home_community_code=HOME,
        cutoff=date(2027, 3, 31),
        district_code="440604",
        city_code="440600",
    )
    for purpose, consent in [("", case.consent.reference), ("resident-services-check", "")]:
        with pytest.raises(RegistryRefused):
            verify_families(
                questions=[dataclasses.replace(question, consent_reference=consent)],
                context=LookupContext(client_id="hr-440604", purpose=purpose),
            )
    audit_append(
        items=[
            AuditItem(
                client_id="hr-440604",
                end_user="counter",
                purpose="",
                consent_reference="",
                outcome="refused",
                question={"who": CHILD},
                refusal_reason=f"no consent on file for {CHILD}",
                subjects=[CHILD],
            )
        ]
    )

    # Feeds with rejected rows, through the import; a file without the feed's columns; and a
    # batch loaded before rejections had codes.
    mother2 = idnumber.make("440604", date(1990, 7, 1), 226)
    property_feed = tmp_path / "property.csv"
    property_feed.write_text(
        "certificate_no,owner_id_number,share_percent,community_code,address,registered_on\n"
        f"P1,{MOTHER[:17]}0,100,{HOME},,2019-01-01\n"
        f"P2,{mother2},100,{HOME},,2023-02-30\n"
        f"P3,{mother2},100\n"
        f"P4,{mother2},150,{HOME},,2019-01-01\n"
        f"P5,{mother2},50,{HOME},,2019-01-01\n"
        f"P5,{mother2},50,{HOME},,2019-01-01\n",
        encoding="utf-8",
    )
    rental_feed = tmp_path / "rental.csv"
    rental_feed.write_text("registration_no,tenant\nR1,x\n", encoding="utf-8")
    imported = registry_import_file(source="property", path=property_feed)
    header_failed = registry_import_file(source="rental", path=rental_feed)
    before_codes = ImportBatchFactory(
        source="hukou",
        file_name="hukou.csv",
        rows_read=3,
        rows_rejected=2,
        rejections=[
            {"line": 2, "reason": "registered_on: impossible date 2023-02-30"},
            {"line": 3, "reason": "expected 9 fields, found 7"},
        ],
    )
    unreadable = ImportBatchFactory(
        source="hukou",
        file_name="hukou.csv",
        status=ImportBatch.Status.FAILED,
        rejections=[{"line": 0, "reason": "hukou.csv is not utf-8 text (byte 7 of a read block)"}],
    )
    steward = UserFactory(role="steward", username="steward1", district_code="440604")
    pages = [
        ("case", reverse("staff:officer-case", args=[case.ref]), officer),
        ("imports", reverse("steward:imports"), steward),
        *[
            (f"import-{batch_id}", reverse("steward:import", args=[batch_id]), steward)
            for batch_id in (
                imported.batch_id,
                header_failed.batch_id,
                before_codes.pk,
                unreadable.pk,
            )
        ],
        ("audit", reverse("steward:audit"), steward),
        ("lookups", reverse("application-lookups", args=[case.ref]), parent),
        ("status", reverse("application-detail", args=[case.ref]), parent),
    ]
    shown_as_they_are = [
        case.ref,
        case.consent.reference,
        settings.REGISTRY_CLIENT_ID,
        "hr-440604",
        "resident-services-check",
        f"user:{parent.pk}",
        f"user:{father.pk}",
        "counter",
        "property.csv",
        "rental.csv",
        "hukou.csv",
        "utf-8",
        officer.username,
        steward.username,
        parent.username,
    ]
    # A rejected file's header names its columns as INTERCHANGE.md does; the page repeats them
    # after their names so that the steward can find them in the file.
    shown_as_they_are += sorted({c for spec in FEEDS.values() for c in spec.columns}, key=len)[::-1]
    return pages, shown_as_they_are


def _without(html: str, values: list[str]) -> str:
    for value in sorted(values, key=len, reverse=True):
        html = html.replace(value, "")
    return html


def test_pages_that_word_codes_in_english_have_no_chinese_outside_data_values(coded_pages):
    pages, shown_as_they_are = coded_pages
    for name, url, user in pages:
        response = signed_in(user, "en").get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200, name
        html = _without(response.content.decode(), WORDS + shown_as_they_are)
        assert untranslated_chinese(html) == [], name


def test_pages_that_word_codes_in_chinese_have_no_stray_english(coded_pages):
    pages, shown_as_they_are = coded_pages
    for name, url, user in pages:
        response = signed_in(user).get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 200, name
        html = response.content.decode()
        assert stray_english(html, WORDS + shown_as_they_are) == [], name
        assert "manual review" not in html, name
