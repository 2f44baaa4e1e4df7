"""Several processes appending at once: every commit anchored, in whatever order the anchors
land in the file, and the log checks out against all of them."""

import threading

import pytest
from django.db import connection

from registry.contract import LookupContext
from registry.services.verification import verify_families
from tests.registry.services.test_audit_chain import anchors, entries, question, verify

WORKERS = 4
BATCHES = 5


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_each_leave_one_anchor_and_the_log_verifies(audit_anchor):
    start = threading.Barrier(WORKERS)
    errors = []

    def work(worker: int) -> None:
        try:
            start.wait()
            for batch in range(BATCHES):
                verify_families(
                    questions=[question(worker * 100 + batch * 10 + n) for n in range(worker + 1)],
                    context=LookupContext(client_id="edu-440604", purpose="enrollment-2027"),
                )
        except Exception as error:  # noqa: BLE001 - reported below, with the worker's number
            errors.append((worker, error))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    total = BATCHES * sum(range(1, WORKERS + 1))
    log = entries()
    assert len(log) == total
    written = anchors(audit_anchor)
    assert len(written) == WORKERS * BATCHES
    # Each anchor names a distinct point of the one chain: its length, last entry and head.
    by_length = {entry_number: entry for entry_number, entry in enumerate(log, start=1)}
    assert sorted(a["entries"] for a in written)[-1] == total
    assert len({a["entries"] for a in written}) == WORKERS * BATCHES
    assert all(
        (a["last_id"], a["head"])
        == (by_length[a["entries"]].id, by_length[a["entries"]].entry_hash)
        for a in written
    )
    assert verify() == f"audit chain intact: {total} entries"
