"""The default points policy of DOMAIN.md (primary grade 1, Chancheng 440604), as a document."""

from datetime import date


def default_policy_document(
    *, admission_year: int, district_code: str = "440604", city_code: str = "4406"
) -> dict:
    year = admission_year
    return {
        # Shown to officers on Chinese pages, like the rest of the document.
        "name": "小学一年级积分办法（默认）",
        "version": f"{year}.1",
        "district_code": district_code,
        "city_code": city_code,
        "admission_year": year,
        "grade": "primary1",
        # Every fact is judged as of the cut-off date.
        "cutoff": date(year, 3, 31).isoformat(),
        "age_window": {
            "born_from": date(year - 8, 9, 1).isoformat(),
            "born_to": date(year - 6, 8, 31).isoformat(),
        },
        "ownership_min_share_percent": "50",
        "si_window_months": 120,
        "si_min_months": 12,
        "permit_min_months": 12,
        # First matching row wins; `owns_elsewhere` absent means "either".
        "base_points": [
            {"hukou": "D", "housing": "OWN", "points": "100"},
            {"hukou": "C", "housing": "OWN", "points": "95"},
            {"hukou": "D", "housing": "RENT", "owns_elsewhere": False, "points": "90"},
            {"hukou": "N", "housing": "OWN", "points": "80"},
            {"hukou": "D", "housing": "RENT", "owns_elsewhere": True, "points": "75"},
            {"hukou": "C", "housing": "RENT", "points": "70"},
            {"hukou": "N", "housing": "RENT", "points": "60"},
        ],
        "bonus": {
            "D": {"per": "residence_month", "points": "0.1", "cap": "10.0"},
            "C": {"per": "residence_month", "points": "0.1", "cap": "10.0"},
            "N": {"per": "si_month", "beyond": 12, "points": "0.1", "cap": "10.0"},
        },
        # Hukou classes that must hold a qualifying residence permit and the minimum
        # social-insurance months to be eligible.
        "permit_required_for": ["N"],
        "si_required_for": ["N"],
        "tie_breaks": ["hukou_class", "housing_class", "residence_months", "si_months", "lottery"],
    }
