"""What the registry should answer, worked out from the feed files alone.

The five CSV files `generate_district` wrote are read with the csv module (not through the
product's import code) and each sampled question's facts are derived from them as DOMAIN.md
states the rules: the child's hukou class, district and registration date, the related
guardians (hukou in the child's household), ownership in the home community (shares of
related guardians on one certificate added up), a registered rental covering the cut-off,
ownership elsewhere in the city, the most insured months in the 120-month window and the
residence permit. A later row with the same key replaces an earlier one (INTERCHANGE.md).
"""

import csv
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path


class Feeds:
    """The feed rows of the people a sample of questions names."""

    def __init__(self, folder: Path, questions):
        people = {q.child_id_number for q in questions}
        people |= {g for q in questions for g in q.guardian_id_numbers}
        self.hukou = {row["id_number"]: row for row in _rows(folder / "hukou.csv")}
        self.property = _by(folder / "property.csv", "owner_id_number", people,
                            key=("certificate_no", "owner_id_number"))  # fmt: skip
        self.rental = _by(folder / "rental.csv", "tenant_id_number", people,
                          key=("registration_no", "tenant_id_number"))  # fmt: skip
        self.permit = _by(folder / "residence_permit.csv", "id_number", people, key=("permit_no",))
        paid: dict[tuple[str, str], bool] = {}
        for row in _rows(folder / "social_insurance.csv"):
            if row["id_number"] in people:
                paid[(row["id_number"], row["month"])] = (
                    row["pension"] == "1" and row["medical"] == "1"
                )
        self.months: dict[str, set[str]] = defaultdict(set)
        for (id_number, month), both in paid.items():
            if both:
                self.months[id_number].add(month)


def _rows(path: Path):
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def _by(path: Path, column: str, people: set[str], *, key: tuple[str, ...]) -> dict:
    latest = {}
    for row in _rows(path):
        if row[column] in people:
            latest[tuple(row[name] for name in key)] = row
    grouped = defaultdict(list)
    for row in latest.values():
        grouped[row[column]].append(row)
    return grouped


def _window(cutoff: date, months: int) -> tuple[str, str]:
    last = cutoff.year * 12 + cutoff.month - 1
    first = last - (months - 1)
    return f"{first // 12:04d}-{first % 12 + 1:02d}", f"{last // 12:04d}-{last % 12 + 1:02d}"


def _full_months(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + (end.month - start.month) - (end.day < start.day)
    return max(months, 0)


def expected(question, feeds: Feeds) -> dict:
    q = question
    child = feeds.hukou.get(q.child_id_number)
    facts: dict = {"child_hukou": None}
    household = ""
    if child is not None:
        district = child["hukou_district_code"]
        hukou_class = (
            "D" if district == q.district_code else "C" if district.startswith(q.city_code) else "N"
        )
        household = child["household_no"]
        facts["child_hukou"] = (hukou_class, district, child["registered_on"], household or "-")
    related = tuple(
        index
        for index, id_number in enumerate(q.guardian_id_numbers)
        if household and feeds.hukou.get(id_number, {}).get("household_no") == household
    )
    facts["related"] = related
    guardians = {index: q.guardian_id_numbers[index] for index in related}

    shares: dict[str, Decimal] = defaultdict(Decimal)
    elsewhere = set()
    for id_number in guardians.values():
        for row in feeds.property.get(id_number, ()):
            if row["community_code"] == q.home_community_code:
                shares[row["certificate_no"]] += Decimal(row["share_percent"])
            elif row["community_code"].startswith(q.city_code):
                elsewhere.add(row["certificate_no"])
    best_share = max(shares.values(), default=Decimal(0))
    facts["owned"] = (best_share, {c for c, s in shares.items() if s == best_share})
    facts["elsewhere"] = elsewhere
    cutoff = q.cutoff.isoformat()
    facts["rentals"] = {
        row["registration_no"]
        for id_number in guardians.values()
        for row in feeds.rental.get(id_number, ())
        if row["community_code"] == q.home_community_code
        and row["start_date"] <= cutoff <= row["end_date"]
    }

    first, last = _window(q.cutoff, q.si_window_months)
    counted = {
        index: sorted(m for m in feeds.months.get(id_number, ()) if first <= m <= last)
        for index, id_number in guardians.items()
    }
    best_months = max((len(months) for months in counted.values()), default=0)
    facts["si"] = (
        best_months,
        {index: f"{guardians[index]} {months[-1]}" for index, months in counted.items()
         if best_months and len(months) == best_months},
        (first, last),
    )  # fmt: skip

    candidates = []
    for id_number in guardians.values():
        for row in feeds.permit.get(id_number, ()):
            issued = date.fromisoformat(row["issued_on"])
            expires = date.fromisoformat(row["expires_on"])
            qualifies = (
                issued <= q.cutoff <= expires
                and _full_months(issued, q.cutoff) >= q.permit_min_months
            )
            candidates.append((qualifies, issued, expires, row["permit_no"]))
    permit = None
    if candidates:
        best = max(candidates, key=lambda c: (c[0], -c[1].toordinal()))
        permit = (best[0], best[1], {(c[2], c[3]) for c in candidates if c[:2] == best[:2]})
    facts["permit"] = permit
    return facts


def mismatched_fields(answer, question, feeds: Feeds) -> list[str]:
    """The fields in which `answer` (a FamilyAnswer) differs from the feeds' facts."""
    want = expected(question, feeds)
    wrong = []
    child = answer.child_hukou
    got_child = None
    if child is not None:
        got_child = (child.hukou_class, child.district_code, child.registered_on.isoformat(),
                     child.record.key)  # fmt: skip
    if got_child != want["child_hukou"]:
        wrong.append("child_hukou")
    relations = answer.related_guardians
    household = want["child_hukou"][3] if want["child_hukou"] else None
    if tuple(r.guardian_index for r in relations) != want["related"] or any(
        r.basis != "household" or r.record is None or r.record.key != household for r in relations
    ):
        wrong.append("related_guardians")
    housing = answer.housing
    share, certificates = want["owned"]
    owned_key = housing.owned_record.key if housing.owned_record else None
    if housing.owned_share_percent != share or (
        owned_key not in certificates if certificates else owned_key is not None
    ):
        wrong.append("owned")
    rental_key = housing.rental_record.key if housing.rental_record else None
    if (rental_key not in want["rentals"]) if want["rentals"] else rental_key is not None:
        wrong.append("rental")
    elsewhere_key = housing.elsewhere_record.key if housing.elsewhere_record else None
    if housing.owns_elsewhere != bool(want["elsewhere"]) or (
        elsewhere_key not in want["elsewhere"] if want["elsewhere"] else elsewhere_key is not None
    ):
        wrong.append("owns_elsewhere")
    si = answer.social_insurance
    months, record_of, (first, last) = want["si"]
    window = None
    if si.window_start and si.window_end:
        window = (f"{si.window_start:%Y-%m}", f"{si.window_end:%Y-%m}")
    if (
        si.qualifying_months != months
        or window != (first, last)
        or (si.guardian_index not in record_of if months else si.guardian_index is not None)
        or (si.record.key if si.record else None) != record_of.get(si.guardian_index)
    ):
        wrong.append("social_insurance")
    permit = answer.permit
    if want["permit"] is None:
        if permit is not None:
            wrong.append("permit")
    elif (
        permit is None
        or (permit.qualifies, permit.issued_on) != want["permit"][:2]
        or (permit.expires_on, permit.record.key) not in want["permit"][2]
    ):
        wrong.append("permit")
    return wrong


def paths(questions, sample: list[int], feeds: Feeds) -> dict:
    """How many sampled questions take each DOMAIN.md path, by the feeds: what the check
    covers."""
    counts: Counter = Counter()
    for index in sample:
        question = questions[index]
        want = expected(question, feeds)
        counts["no_child_hukou"] += want["child_hukou"] is None
        counts["not_all_named_related"] += len(want["related"]) < len(question.guardian_id_numbers)
        counts["owned"] += want["owned"][0] > 0
        counts["owned_under_50"] += 0 < want["owned"][0] < 50
        counts["rental"] += bool(want["rentals"])
        counts["owns_elsewhere"] += bool(want["elsewhere"])
        counts["insured"] += want["si"][0] > 0
        counts["permit"] += want["permit"] is not None
        counts["permit_not_qualifying"] += want["permit"] is not None and not want["permit"][0]
    return dict(counts)


def check(answers, questions, sample: list[int], feeds: Feeds) -> dict:
    """The sampled questions' answers against the feeds: `checked`, `mismatched` (questions
    with any field wrong) and how often each field was wrong."""
    fields: Counter = Counter()
    mismatched = 0
    if len(answers) != len(questions):
        return {"checked": len(sample), "mismatched": len(sample), "fields": {"answers": 1}}
    for index in sample:
        answer, question = answers[index], questions[index]
        wrong = (
            mismatched_fields(answer, question, feeds) if answer.key == question.key else ["key"]
        )
        fields.update(wrong)
        mismatched += bool(wrong)
    return {"checked": len(sample), "mismatched": mismatched, "fields": dict(fields)}
