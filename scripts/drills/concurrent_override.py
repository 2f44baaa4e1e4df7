"""Drill: two officers override the same decided case at the same moment.

For each of N decided applications, two officers of the district call the override (which
decides a case not eligible; no case is made eligible by hand) in two threads released together
by a barrier, each with their own reason, both naming the decision they were shown. The application row is locked for
the override, so the second to get the lock finds that decision replaced and is refused
(`stale_decision`): exactly one must win each pair. Prints one JSON line: pairs by how many
overrides were recorded, refusals by code, inconsistent cases (must be 0): not exactly one current decision, a current decision
that is not the last override, override rows or audit rows or 'decided' events not matching
the overrides that succeeded. And decided twice by verification (must be 0).

    python scripts/drills/concurrent_override.py [--cases 50]
"""

import argparse
import sys
import threading
import time
from collections import Counter

import common


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50)
    args = parser.parse_args()
    env = common.stack_env(common.database_url("drill_concurrent_override"), common.broker_url(10))
    common.setup_django(env)
    from django.db import connection

    from enrollment.errors import ApplicationError
    from enrollment.models import Application, AuditAction, AuditLog, Decision, Role, User
    from enrollment.services.findings import decision_override
    from enrollment.services.verification import verification_run

    pairs = common.district(args.cases)
    job_ids = common.submit(pairs)
    verification_run(job_ids=job_ids)
    officers = [
        User.objects.create(username=f"officer-{n}", role=Role.OFFICER, district_code="440604")
        for n in (1, 2)
    ]
    outcomes = Counter()
    refusals = Counter()
    inconsistent = []
    started = time.monotonic()
    for application in Application.objects.filter(state="decided").order_by("id"):
        barrier = threading.Barrier(2)
        results: dict[int, object] = {}
        shown = Decision.objects.get(application=application, is_current=True).pk

        def override(
            index, wanted, application=application, barrier=barrier, results=results, shown=shown
        ):
            try:
                barrier.wait()
                results[index] = decision_override(
                    actor=officers[index],
                    application=application,
                    outcome=wanted,
                    reason=f"drill: officer {index + 1} decides",
                    expected_decision_id=shown,
                )
            except ApplicationError as error:
                results[index] = error
            finally:
                connection.close()

        threads = [
            threading.Thread(target=override, args=(0, "ineligible")),
            threading.Thread(target=override, args=(1, "ineligible")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        won = [r for r in results.values() if isinstance(r, Decision)]
        for refusal in (r for r in results.values() if isinstance(r, ApplicationError)):
            refusals[str(refusal.code)] += 1
        outcomes["both_recorded" if len(won) == 2 else f"{len(won)}_recorded"] += 1

        current = list(Decision.objects.filter(application=application, is_current=True))
        overrides = Decision.objects.filter(application=application, basis="override")
        last = overrides.order_by("-id").first()
        audits = AuditLog.objects.filter(
            action=AuditAction.DECISION_OVERRIDE, target_id__in=[str(d.pk) for d in overrides]
        ).count()
        events = application.events.filter(to_state="decided", actor__isnull=False).count()
        if not (
            len(won) == 1
            and len(current) == 1
            and last is not None
            and current[0].pk == last.pk
            and overrides.count() == len(won) == audits == events
        ):
            inconsistent.append(application.ref)
    settled = common.figures()
    common.report(
        "concurrent_override",
        cases=args.cases,
        outcomes=dict(outcomes),
        refusals=dict(refusals),
        inconsistent=len(inconsistent),
        inconsistent_refs=inconsistent[:5],
        lost=args.cases - settled["decided"] - settled["needs_review"],
        decided_twice=settled["decided_twice"],
        seconds=round(time.monotonic() - started, 1),
        ok=not inconsistent and settled["decided_twice"] == 0,
    )
    return 0 if not inconsistent and settled["decided_twice"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
