"""The verification benchmark's baseline: the same facts as one set-based SQL statement.

The questions go in as arrays (unnest), the five registry tables are joined once, and one row
per question comes back with the facts the points policy uses: the child's hukou district and
registration date, how many named adults are related guardians (hukou in the child's
household), the largest share the related guardians hold together on one certificate in the
home community, a rental there covering the cut-off, ownership elsewhere in the city, the most
insured months in the window and a qualifying permit. No consent check, no audit, no answer
objects: what a bare lookup costs, through a psycopg connection of its own.
"""

from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta

BASELINE_SQL = """
WITH q AS (
    SELECT * FROM unnest(%(keys)s::text[], %(children)s::text[], %(homes)s::text[])
        AS q(key, child, home)
),
qg AS (
    SELECT * FROM unnest(%(guardian_keys)s::text[], %(guardians)s::text[])
        AS qg(key, id_number)
),
ch AS (
    SELECT q.key, h.hukou_district_code, h.registered_on, h.household_no
    FROM q JOIN registry_hukourecord h ON h.id_number = q.child
),
g AS (
    SELECT DISTINCT qg.key, qg.id_number
    FROM qg JOIN ch ON ch.key = qg.key AND ch.household_no <> ''
    JOIN registry_hukourecord gh
      ON gh.id_number = qg.id_number AND gh.household_no = ch.household_no
),
related AS (SELECT key, count(*) AS n FROM g GROUP BY key),
owned AS (
    SELECT key, max(share) AS share FROM (
        SELECT g.key, p.certificate_no, sum(p.share_percent) AS share
        FROM g JOIN q USING (key)
        JOIN registry_propertyrecord p
          ON p.owner_id_number = g.id_number AND p.community_code = q.home
        GROUP BY g.key, p.certificate_no
    ) s GROUP BY key
),
rented AS (
    SELECT DISTINCT g.key FROM g JOIN q USING (key)
    JOIN registry_rentalrecord r
      ON r.tenant_id_number = g.id_number AND r.community_code = q.home
     AND r.start_date <= %(cutoff)s AND r.end_date >= %(cutoff)s
),
elsewhere AS (
    SELECT DISTINCT g.key FROM g JOIN q USING (key)
    JOIN registry_propertyrecord p
      ON p.owner_id_number = g.id_number AND p.community_code <> q.home
     AND p.community_code LIKE %(city)s
),
insured AS (
    SELECT key, max(months) AS months FROM (
        SELECT g.key, g.id_number, count(DISTINCT s.month) AS months
        FROM g JOIN registry_socialinsurancerecord s ON s.id_number = g.id_number
        WHERE s.month BETWEEN %(window_start)s AND %(window_end)s AND s.pension AND s.medical
        GROUP BY g.key, g.id_number
    ) m GROUP BY key
),
permitted AS (
    SELECT DISTINCT g.key FROM g
    JOIN registry_residencepermitrecord r ON r.id_number = g.id_number
    WHERE r.issued_on <= %(permit_latest)s AND r.expires_on >= %(cutoff)s
)
SELECT q.key, ch.hukou_district_code, ch.registered_on, coalesce(related.n, 0),
       coalesce(owned.share, 0), rented.key IS NOT NULL, elsewhere.key IS NOT NULL,
       coalesce(insured.months, 0), permitted.key IS NOT NULL
FROM q
LEFT JOIN ch USING (key)
LEFT JOIN related USING (key)
LEFT JOIN owned USING (key)
LEFT JOIN rented USING (key)
LEFT JOIN elsewhere USING (key)
LEFT JOIN insured USING (key)
LEFT JOIN permitted USING (key)
"""


def parameters(questions) -> dict:
    """The statement's parameters (untimed: built once); every question shares one cut-off,
    district and city, as a batch of one admission round does."""
    first = questions[0]
    cutoff = first.cutoff
    last = cutoff.replace(day=1)
    return {
        "keys": [q.key for q in questions],
        "children": [q.child_id_number for q in questions],
        "homes": [q.home_community_code for q in questions],
        "guardian_keys": [q.key for q in questions for _ in q.guardian_id_numbers],
        "guardians": [g for q in questions for g in q.guardian_id_numbers],
        "cutoff": cutoff,
        "city": f"{first.city_code}%",
        "window_start": last - relativedelta(months=first.si_window_months - 1),
        "window_end": last,
        # Issued at least `permit_min_months` full months before the cut-off.
        "permit_latest": cutoff - relativedelta(months=first.permit_min_months),
    }


def lookup(conn, params: dict) -> dict:
    """{key: facts} from one statement."""
    with conn.cursor() as cursor:
        cursor.execute(BASELINE_SQL, params)
        return {row[0]: row[1:] for row in cursor}


def facts_of_row(row, question) -> tuple:
    district, registered, related, share, rented, elsewhere, months, permit = row
    hukou_class = None
    if district is not None:
        hukou_class = (
            "D"
            if district == question.district_code
            else "C"
            if district.startswith(question.city_code)
            else "N"
        )
    return (hukou_class, registered, related, Decimal(share), rented, elsewhere, months, permit)


def facts_of_answer(answer) -> tuple:
    child = answer.child_hukou
    registered: date | None = child.registered_on if child else None
    return (
        child.hukou_class if child else None,
        registered,
        len(answer.related_guardians),
        answer.housing.owned_share_percent,
        answer.housing.rental_record is not None,
        answer.housing.owns_elsewhere,
        answer.social_insurance.qualifying_months,
        bool(answer.permit and answer.permit.qualifies),
    )


def disagreements(answers, rows: dict, questions) -> int:
    """Questions whose answer and baseline row differ in any shared fact."""
    return sum(
        1
        for answer, question in zip(answers, questions, strict=True)
        if question.key not in rows
        or facts_of_answer(answer) != facts_of_row(rows[question.key], question)
    ) + abs(len(rows) - len(questions))
