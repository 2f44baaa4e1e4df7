"""Audit rows name their action from one enum, `<entity>.<verb>`; services write its members,
never a string, and name the acting person `actor`. Rows written under the older underscore
names get the dotted name from a migration, and going back restores them."""

import ast
import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone, translation

from enrollment.models import AuditAction, AuditLog
from tests.conftest import ROOT

BEFORE = [("enrollment", "0006_decision_reason_without_recheck_prefix")]
AFTER = [("enrollment", "0007_audit_action_dotted_names")]

# (as written before, as named now); the last two always had the dotted name.
OLD_ACTIONS = [
    ("application_withdraw", "application.withdraw"),
    ("evidence_submit", "evidence.submit"),
    ("evidence_accept", "evidence.accept"),
    ("evidence_reject", "evidence.reject"),
    ("decision_recompute", "decision.recompute"),
    ("decision_override", "decision.override"),
    ("verification_retry", "verification.retry"),
    ("policy_install", "policy.install"),
    ("allocation.publish", "allocation.publish"),
    ("offer.accept", "offer.accept"),
]
# Reads that scope by the asking officer: nobody acts in them.
READS = {("whatif.py", "policy_what_if"), ("allocation.py", "allocation_runs_compare")}
OTHER_WORDS = {"officer", "parent", "user", "acting_user", "staff"}


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _latest():
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.loader.graph.leaf_nodes("enrollment")


@pytest.mark.django_db(transaction=True)
def test_rows_under_the_underscore_names_get_the_dotted_names_and_going_back_restores_them():
    latest = _latest()
    try:
        _migrate(BEFORE)
        now = timezone.now()
        ids = [
            AuditLog.objects.create(at=now, action=old, target_type="Application", target_id="1").pk
            for old, _ in OLD_ACTIONS
        ]

        _migrate(AFTER)

        actions = dict(AuditLog.objects.values_list("pk", "action"))
        assert [actions[pk] for pk in ids] == [new for _, new in OLD_ACTIONS]

        _migrate(BEFORE)

        actions = dict(AuditLog.objects.values_list("pk", "action"))
        assert [actions[pk] for pk in ids] == [old for old, _ in OLD_ACTIONS]
    finally:
        _migrate(latest)


def test_every_action_is_entity_dot_verb_and_named_in_both_languages():
    assert [a for a in AuditAction.values if not re.fullmatch(r"[a-z_]+\.[a-z_]+", a)] == []
    assert AuditAction.OFFER_ENROLMENT.value == "offer.enrolment"
    with translation.override("zh-hans"):
        assert str(AuditAction.DECISION_OVERRIDE.label) == "人工改判"
    with translation.override("en"):
        assert str(AuditAction.DECISION_OVERRIDE.label) == "Changed by an officer"
        assert str(AuditAction.OFFER_ACCEPT.label) == "Place accepted by the family"
        untranslated = [
            str(label) for label in AuditAction.labels if re.search(r"[\u4e00-\u9fff]", str(label))
        ]
        assert untranslated == []


def _modules(folder: str):
    for path in sorted((ROOT / folder).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def _called(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        if func.attr == "create" and isinstance(func.value, ast.Attribute):
            return f"{ast.unparse(func.value.value)}.create"
        return func.attr
    return getattr(func, "id", "")


def test_every_audit_row_names_its_action_from_the_enum():
    writers, strings = 0, []
    for path, tree in _modules("enrollment"):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            if _called(node) not in ("audit_log", "AuditLog", "AuditLog.create"):
                continue
            action = next((k.value for k in node.keywords if k.arg == "action"), None)
            if action is None:
                continue
            writers += 1
            names = {n.id for n in ast.walk(action) if isinstance(n, ast.Name)}
            literal = any(
                isinstance(n, ast.JoinedStr) or (isinstance(n, ast.Constant) and n.value)
                for n in ast.walk(action)
            )
            if literal or not names:
                strings.append(f"{path.relative_to(ROOT)}:{node.lineno}")

    # 25 rows written by services, and the helper that writes them.
    assert writers == 26
    assert strings == []


def test_services_name_the_acting_person_actor():
    others = []
    for path, tree in _modules("enrollment/services"):
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef) or (path.name, node.name) in READS:
                continue
            arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            others += [
                f"{path.name}:{node.name}({a.arg})" for a in arguments if a.arg in OTHER_WORDS
            ]

    assert others == []
