"""Reasons recorded before they had codes: the migration gives each English sentence the
product wrote its code, keeps a person's words, and going back writes the sentences again; a
decision changed on re-check keeps the officer's words without the English prefix."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from enrollment.models import ApplicationEvent, Decision
from tests.enrollment.pipeline_support import (
    child_id,
    guardian_id,
    submit,
    verify_all,
    worked_example,
)

BEFORE = [("enrollment", "0004_event_reason_code")]
AFTER = [("enrollment", "0005_event_reason_code_backfill")]
LATEST = [("enrollment", "0006_decision_reason_without_recheck_prefix")]

# (the reason as written before codes, to_state) -> (reason_code, reason_params, reason)
OLD_EVENTS = [
    (("submitted", "submitted"), ("submitted", {}, "")),
    (("verification started", "verifying"), ("verification_started", {}, "")),
    (("verified against the registry", "decided"), ("verified", {}, "")),
    (("registry unavailable; retrying", "waiting_registry"), ("registry_waiting", {}, "")),
    (
        ("registry unavailable after 8 attempts; manual review", "needs_review"),
        ("registry_unavailable", {"attempts": 8}, ""),
    ),
    (("no active points policy; manual review", "needs_review"), ("no_policy", {}, "")),
    (
        ("registry refused the lookup: CONSENT_MISSING; manual review", "needs_review"),
        ("lookup_refused", {"refusal": "CONSENT_MISSING"}, ""),
    ),
    (
        ("commitment offered about hukou", "needs_review"),
        ("evidence_offered", {"kind": "commitment", "fact": "hukou"}, ""),
    ),
    (("override: 户口迁入手续办理中", "decided"), ("override", {}, "户口迁入手续办理中")),
    (("verify again: 数据已更正", "verifying"), ("verify_again", {}, "数据已更正")),
    (
        ("re-check changed the decision: 补录社保 20 个月", "decided"),
        ("recheck_changed", {}, "补录社保 20 个月"),
    ),
    (("搬家了", "withdrawn"), ("withdrawn", {}, "搬家了")),
    # An officer's words after reviewing evidence had no prefix: they stay, with no code.
    (("材料与公安记录一致", "decided"), ("", {}, "材料与公安记录一致")),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _migrate_to_the_newest():
    """Every app back at its newest migration, as the next test expects the schema (a
    migration added after LATEST may change a table other tests write to)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_old_reasons_get_their_codes_and_going_back_restores_them(district):
    application = submit(child=child_id(1), guardians=[guardian_id(1)])
    ApplicationEvent.objects.all().delete()
    now = timezone.now()
    ids = [
        ApplicationEvent.objects.create(
            application=application, to_state=to_state, reason=reason, at=now
        ).pk
        for (reason, to_state), _ in OLD_EVENTS
    ]
    try:
        _migrate(BEFORE)
        _migrate(AFTER)

        migrated = {
            e.pk: (e.reason_code, e.reason_params, e.reason) for e in ApplicationEvent.objects.all()
        }
        assert [migrated[pk] for pk in ids] == [after for _, after in OLD_EVENTS]

        _migrate(BEFORE)

        reasons = dict(ApplicationEvent.objects.values_list("pk", "reason"))
        assert [reasons[pk] for pk in ids] == [reason for (reason, _), _ in OLD_EVENTS]
    finally:
        _migrate_to_the_newest()


@pytest.mark.django_db(transaction=True)
def test_a_decision_changed_on_recheck_keeps_only_the_officers_words(district):
    worked_example(1)
    verify_all()
    decision = Decision.objects.get()
    Decision.objects.filter(pk=decision.pk).update(basis="override", reason="re-check: 补录社保")
    try:
        _migrate(AFTER)
        _migrate(LATEST)

        assert Decision.objects.get().reason == "补录社保"
    finally:
        _migrate_to_the_newest()
