"""Locust users for the opening-day surge (driven by bench/surge.py, not run by hand).

SURGE_MODE=bare    GET the bare health endpoint: the stack's ceiling with no product logic.
SURGE_MODE=submit  each request is a different parent, signed in (session cookie and CSRF
                   token prepared by surge.py), submitting their child's application.
SURGE_PLAN is a JSON file: {"parents": [{"session": ..., "csrf": ..., "payload": {...}}, ...]}.
Every parent is used at most once, so each 201 is one new application and nothing else.
"""

import itertools
import json
import os
from pathlib import Path

from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser

MODE = os.environ.get("SURGE_MODE", "bare")
PLAN = (
    json.loads(Path(os.environ["SURGE_PLAN"]).read_text()) if MODE == "submit" else {"parents": []}
)
PARENTS = PLAN["parents"]
# One locust process: a plain counter hands every parent out exactly once.
NEXT_PARENT = itertools.count()
# The refs of every 201, written out when locust quits, so the run can compare them with what
# the database holds (locust's own counters are summaries, not a ledger).
ACCEPTED: list[str] = []


@events.quitting.add_listener
def write_ledger(environment, **kwargs):
    if MODE == "submit" and os.environ.get("SURGE_LEDGER"):
        Path(os.environ["SURGE_LEDGER"]).write_text(json.dumps(ACCEPTED))


class BareUser(FastHttpUser):
    wait_time = constant(0)
    weight = 1 if MODE == "bare" else 0

    @task
    def healthz(self):
        with self.client.get("/api/v1/healthz/", catch_response=True, name="bare") as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")


class ParentUser(FastHttpUser):
    wait_time = constant(0)
    weight = 1 if MODE == "submit" else 0

    @task
    def submit(self):
        index = next(NEXT_PARENT)
        if index >= len(PARENTS):
            raise StopUser()
        parent = PARENTS[index]
        with self.client.post(
            "/api/v1/applications/",
            data=json.dumps(parent["payload"]),
            headers={
                "Content-Type": "application/json",
                "Cookie": f"sessionid={parent['session']}; csrftoken={parent['csrf']}",
                "X-CSRFToken": parent["csrf"],
            },
            catch_response=True,
            name="submit",
        ) as response:
            if response.status_code == 201:
                ACCEPTED.append(response.json()["ref"])
            else:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
