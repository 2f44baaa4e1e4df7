"""What the district tests share: the registry's questions for a generated district."""

import json
from datetime import date
from pathlib import Path

from registry.contract import FamilyQuestion
from tests.registry.factories import signed


def district_questions(folder: Path) -> list[FamilyQuestion]:
    """One signed question per application of `folder`'s `applications.jsonl`, as the
    counter would ask about the family (cut-off 2027-03-31, the home district)."""
    applications = [
        json.loads(line) for line in (folder / "applications.jsonl").read_text().splitlines()
    ]
    return [
        signed(
            FamilyQuestion(
                key=a["ref"],
                consent_reference=f"consent-{a['ref']}",
                end_user="counter",
                child_id_number=a["child"]["id_number"],
                guardian_id_numbers=tuple(g["id_number"] for g in a["guardians"]),
                home_community_code=a["home_community_code"],
                cutoff=date(2027, 3, 31),
                district_code="440604",
                city_code="4406",
            ),
            purpose="demo",
        )
        for a in applications
    ]
