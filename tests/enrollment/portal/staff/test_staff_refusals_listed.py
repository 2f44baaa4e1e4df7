"""Every refusal the staff services can raise is in the table of words
(test_staff_messages.REFUSALS): the services' source is read, each ApplicationError's code,
field, message and `why` matched against a listed row, so a new refusal cannot reach a staff
page in the general words."""

import ast
import re

from tests.conftest import ROOT
from tests.enrollment.portal.staff.test_staff_messages import EXTRA, REFUSALS

# The services behind the staff pages, and the functions in them whose refusals reach a page.
STAFF_SERVICES = {
    "enrollment/services/review.py": {
        "_reason",
        "_require_officer_of",
        "_accepted_values",
        "evidence_review",
        "verification_retry",
    },
    "enrollment/services/findings.py": {
        "_current_or_refused",
        "finding_accept",
        "decision_override",
    },
    "enrollment/services/allocation.py": {
        "_check_officer_scope",
        "allocation_run_create",
        "allocation_runs_compare",
        "allocation_publish",
    },
    "enrollment/services/offers.py": {"offer_mark_enrolment"},
    "enrollment/services/rechecks.py": {"recheck_resolve", "_decision_override"},
    "enrollment/services/whatif.py": {"policy_what_if"},
    "enrollment/services/policies.py": {"policy_active", "_invalid"},
    "enrollment/services/applications.py": {"application_transition"},
}


def _pattern(node: ast.expr, constants: dict) -> str:
    """A regular expression for a message or field as the service writes it."""
    if isinstance(node, ast.Constant):
        return re.escape(node.value)
    if isinstance(node, ast.Name):
        return re.escape(constants[node.id])
    if isinstance(node, ast.JoinedStr):
        return "".join(
            re.escape(part.value) if isinstance(part, ast.Constant) else ".+"
            for part in node.values
        )
    raise AssertionError(f"cannot read {ast.dump(node)}")


def _why(call: ast.Call) -> str:
    """The `why` a refusal's `extra={"why": …}` gives it in the source, or ""."""
    extra = next((k.value for k in call.keywords if k.arg == "extra"), None)
    if not isinstance(extra, ast.Dict):
        return ""
    for key, value in zip(extra.keys, extra.values, strict=True):
        if isinstance(key, ast.Constant) and key.value == "why":
            return value.value
    return ""


def _raised_refusals() -> list[tuple[str, str, str, str, str]]:
    """(where, code, field pattern, message pattern, why) of every ApplicationError the staff
    services create, read from their source."""
    found = []
    for path, functions in STAFF_SERVICES.items():
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        constants = {
            node.targets[0].id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
        }
        defined = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
        assert functions <= defined.keys(), (path, functions - defined.keys())
        for name in functions:
            for call in ast.walk(defined[name]):
                if not (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name)
                    and call.func.id == "ApplicationError"
                ):
                    continue
                code, message = call.args
                field = next(k.value for k in call.keywords if k.arg == "field")
                found.append(
                    (
                        f"{path}:{call.lineno}",
                        code.attr,
                        _pattern(field, constants),
                        _pattern(message, constants),
                        _why(call),
                    )
                )
    return found


def test_every_refusal_the_staff_services_raise_is_listed_above():
    raised = _raised_refusals()

    assert len(raised) > 40
    unlisted = [
        where
        for where, code, field, message, why in raised
        if not any(
            code == listed_code.name
            and re.fullmatch(field, listed_field)
            and re.fullmatch(message, service)
            and why == (EXTRA.get(service) or {}).get("why", "")
            for listed_code, listed_field, service, _zh, _en in REFUSALS
        )
    ]
    assert unlisted == []
