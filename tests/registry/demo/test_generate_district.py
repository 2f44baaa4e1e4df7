"""generate_district: the same seed gives the same bytes, and every decision path appears."""

import csv
import io
import json
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from enrollment.models import Community
from registry import idnumber
from registry.contract import LookupContext, entry_cohort_of
from registry.demo.district import generate_district
from registry.services.verification import verify_families
from tests.registry.demo.support import district_questions

pytestmark = pytest.mark.django_db

FILES = [
    "hukou.csv",
    "property.csv",
    "rental.csv",
    "social_insurance.csv",
    "residence_permit.csv",
    "schools.csv",
    "applications.jsonl",
    "communities.csv",
    "communities.geojson",
]


def test_the_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    for folder, seed in (("a", 7), ("b", 7), ("c", 8)):
        call_command(
            "generate_district",
            "--households",
            "60",
            "--seed",
            str(seed),
            "--year",
            "2027",
            "--out",
            str(tmp_path / folder),
            stdout=io.StringIO(),
        )

    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "hukou.csv").read_bytes() != (
        tmp_path / "c" / "hukou.csv"
    ).read_bytes()


def test_bad_arguments_exit_with_a_reason(tmp_path):
    with pytest.raises(CommandError, match="--households must be at least 1"):
        call_command(
            "generate_district", "--households", "0", "--seed", "1", "--year", "2027",
            "--out", str(tmp_path),
        )  # fmt: skip


def test_a_run_that_fails_part_way_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    from registry.demo import district

    out = tmp_path / "district"
    generate_district(households=20, seed=1, year=2027, out=out)
    before = {path.name: path.read_bytes() for path in out.iterdir()}

    def failing(*args, **kwargs):
        raise OSError(28, "No space left on device")

    # The feeds are written by now; the schools are next.
    monkeypatch.setattr(district, "_schools", failing)
    with pytest.raises(OSError, match="No space left on device"):
        generate_district(households=40, seed=2, year=2027, out=out)

    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert sorted(before) == sorted(FILES)


def test_people_schools_and_applications_are_well_formed(tmp_path):
    summary = generate_district(households=300, seed=11, year=2027, out=tmp_path)

    with (tmp_path / "hukou.csv").open(encoding="utf-8") as handle:
        hukou = list(csv.DictReader(handle))
    with (tmp_path / "schools.csv").open(encoding="utf-8") as handle:
        schools = list(csv.DictReader(handle))
    applications = [
        json.loads(line) for line in (tmp_path / "applications.jsonl").read_text().splitlines()
    ]
    assert all(idnumber.is_valid(row["id_number"]) for row in hukou)
    assert len({row["id_number"] for row in hukou}) == len(hukou)
    assert {row["hukou_district_code"][:4] for row in hukou} > {"4406"}
    assert len(schools) == summary.schools == 5
    covered = {code for school in schools for code in school["catchment_communities"].split(";")}
    homes = {application["home_community_code"] for application in applications}
    assert homes <= covered
    assert sum(int(s["capacity"]) for s in schools) < len(applications)
    assert all(22.9 < float(s["lat"]) < 23.1 and 113.0 < float(s["lon"]) < 113.2 for s in schools)
    assert [a["ref"] for a in applications[:2]] == ["A000001", "A000002"]
    for application in applications:
        child_birth = idnumber.birth_date_of(application["child"]["id_number"])
        assert "2019-09-01" <= child_birth.isoformat() <= "2021-08-31"
        guardians = [g["id_number"] for g in application["guardians"]]
        assert application["consent"]["given_by"] in guardians
        assert 1 <= len(application["preferences"]) <= 3
        for guardian in guardians:
            birth = idnumber.birth_date_of(guardian)
            age_on_cutoff = 2027 - birth.year - ((birth.month, birth.day) > (3, 31))
            assert 25 <= age_on_cutoff <= 45


def test_every_decision_path_appears_once_imported_and_verified(tmp_path):
    # given: the demo's district, loaded as `make demo` loads it
    call_command(
        "generate_district", "--households", "400", "--seed", "7", "--year", "2027",
        "--out", str(tmp_path), stdout=io.StringIO(),
    )  # fmt: skip
    call_command("import_registry", str(tmp_path), stdout=io.StringIO())
    questions = district_questions(tmp_path)

    # when
    answers = verify_families(
        questions=questions, context=LookupContext(client_id="edu-440604", purpose="demo")
    )

    # then: DOMAIN.md's paths, classified from the registry's answers
    questions_by_key = {q.key: q for q in questions}
    paths = Counter()
    for answer in answers:
        hukou = answer.child_hukou
        housing = answer.housing
        if housing.owned_share_percent >= Decimal(50):
            housing_class = "OWN"
        elif housing.rental_record is not None:
            housing_class = "RENT"
        else:
            housing_class = "NONE"
        if hukou is None:
            paths["needs_review:CHILD_HUKOU_NOT_FOUND"] += 1
            continue
        if not answer.related_guardians:
            paths["needs_review:GUARDIANSHIP_NOT_VERIFIED"] += 1
            continue
        if len(answer.related_guardians) < len(questions_by_key[answer.key].guardian_id_numbers):
            paths["a named adult not related"] += 1
        if housing_class == "NONE":
            paths["needs_review:HOUSING_NOT_VERIFIED"] += 1
            continue
        if hukou.hukou_class == "N":
            if not (answer.permit and answer.permit.qualifies):
                paths["ineligible:PERMIT_MISSING"] += 1
            if answer.social_insurance.qualifying_months < 12:
                paths["ineligible:SI_MONTHS_BELOW_MIN"] += 1
        elsewhere = "+elsewhere" if housing_class == "RENT" and housing.owns_elsewhere else ""
        paths[f"{hukou.hukou_class}:{housing_class}{elsewhere}"] += 1
    assert set(paths) >= {
        "D:OWN",
        "C:OWN",
        "N:OWN",
        "D:RENT",
        "D:RENT+elsewhere",
        "C:RENT",
        "N:RENT",
        "needs_review:CHILD_HUKOU_NOT_FOUND",
        "needs_review:GUARDIANSHIP_NOT_VERIFIED",
        "needs_review:HOUSING_NOT_VERIFIED",
        "ineligible:PERMIT_MISSING",
        "ineligible:SI_MONTHS_BELOW_MIN",
        "a named adult not related",
    }, paths
    # A small share: most families' named adults share the child's household.
    assert 0 < paths["needs_review:GUARDIANSHIP_NOT_VERIFIED"] <= len(answers) * 0.05, paths
    assert 0 < paths["a named adult not related"] <= len(answers) * 0.05, paths


def _cohorts(rows, district="440604") -> Counter:
    return Counter(
        entry_cohort_of(date.fromisoformat(row["birth_date"]))
        for row in rows
        if row["community_code"].startswith(district)
    )


def test_younger_children_make_each_later_cohort_smaller_and_none_is_born_after_last_month(
    tmp_path,
):
    summary = generate_district(households=2000, seed=5, year=2027, out=tmp_path)

    with (tmp_path / "hukou.csv").open(encoding="utf-8") as handle:
        hukou = list(csv.DictReader(handle))
    cohorts = _cohorts(hukou)
    now = cohorts[2027]
    # Each later cohort is this year's, 6 % smaller a year (rounded), the last one only for
    # the months born by the end of February 2027 (181 of its 365 days).
    assert [cohorts[year] for year in range(2028, 2033)] == [
        round(now * 0.94**ahead) for ahead in range(1, 6)
    ]
    assert cohorts[2033] == round(now * 0.94**6 * 181 / 365)
    assert cohorts[2034] == 0
    assert "2027-02-01" <= max(row["birth_date"] for row in hukou) <= "2027-02-28"
    assert max(row["registered_on"] for row in hukou) <= "2027-03-30"
    # Every person counted has a hukou row but the children the registry deliberately lacks.
    applications = [
        json.loads(line) for line in (tmp_path / "applications.jsonl").read_text().splitlines()
    ]
    numbers = {row["id_number"] for row in hukou}
    lacking = sum(a["child"]["id_number"] not in numbers for a in applications)
    assert summary.people == len(hukou) + lacking == summary.rows["hukou"] + lacking


def test_community_outlines_tile_the_district_and_load(tmp_path):
    generate_district(households=400, seed=7, year=2027, out=tmp_path)

    collection = json.loads((tmp_path / "communities.geojson").read_text(encoding="utf-8"))
    with (tmp_path / "communities.csv").open(encoding="utf-8") as handle:
        named = list(csv.DictReader(handle))
    with (tmp_path / "schools.csv").open(encoding="utf-8") as handle:
        catchments = [s["catchment_communities"].split(";") for s in csv.DictReader(handle)]
    features = collection["features"]
    assert [f["properties"]["code"] for f in features] == [row["code"] for row in named]
    assert {f["properties"]["name"] for f in features} == {row["name"] for row in named}
    assert all(row["district_code"] == "440604" for row in named)
    assert {code for catchment in catchments for code in catchment} == {
        row["code"] for row in named
    }
    # Every edge inside the district is shared by exactly two outlines; the rest is the
    # district's own boundary, one closed line.
    edges = Counter()
    for feature in features:
        (ring,) = feature["geometry"]["coordinates"]
        assert ring[0] == ring[-1]
        assert len(ring) >= 4
        edges.update(frozenset(map(tuple, pair)) for pair in zip(ring, ring[1:], strict=False))
    assert set(edges.values()) == {1, 2}
    outer = [edge for edge, count in edges.items() if count == 1]
    degree = Counter(point for edge in outer for point in edge)
    assert set(degree.values()) == {2}

    call_command("import_communities", str(tmp_path / "communities.geojson"), stdout=io.StringIO())
    assert Community.objects.filter(shape__type="Polygon").count() == len(features)
