"""Re-checks (复核): asked within the window, answered by an officer, flowing into next round."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import AllocationRun, AuditLog, Decision, Recheck, Role
from enrollment.portal.parents.forms import recheck_message
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_run_execute,
)
from enrollment.services.rechecks import recheck_request, recheck_resolve
from tests.conftest import YEAR
from tests.enrollment.allocation_helpers import decided_application
from tests.enrollment.factories import UserFactory

pytestmark = pytest.mark.django_db


def _allocate(officer, seed=1, publish=True):
    run = allocation_run_create(
        admission_year=YEAR, seed=seed, actor=officer, district_code="440604", enqueue=False
    )
    run = allocation_run_execute(run_id=run.pk)
    if publish:
        run = allocation_publish(run=run, actor=officer, reason=f"round {run.round}")
    return run


@pytest.fixture
def results(district, officer, parent):
    """Two seats at S440604001; the parent's child (65 points) is third and not placed."""
    policy = district["policy"]
    decided_application(policy=policy, prefs=["S440604001"], points="90", ref="H001")
    decided_application(policy=policy, prefs=["S440604001"], points="80", ref="H002")
    mine = decided_application(
        policy=policy, prefs=["S440604001"], points="65", ref="P001", parent=parent
    )
    return {"run": _allocate(officer), "application": mine}


def test_a_parent_asks_for_a_recheck_within_the_window(results, parent):
    recheck = recheck_request(
        application=results["application"], actor=parent, reason="社保月数少算了"
    )

    assert (recheck.status, recheck.reason, recheck.run) == (
        "open",
        "社保月数少算了",
        results["run"],
    )
    entry = AuditLog.objects.get(action="recheck.request")
    assert (entry.actor, entry.target_id) == (parent, str(recheck.pk))


def test_a_recheck_after_the_window_is_refused_and_nothing_is_written(results, parent):
    later = results["run"].visible_from + timedelta(days=7, seconds=1)

    with pytest.raises(ApplicationError, match="closed") as refused:
        recheck_request(application=results["application"], actor=parent, reason="x", now=later)

    assert recheck_message(refused.value) == "复核申请期已经结束。"

    assert Recheck.objects.count() == 0


def test_a_recheck_before_publication_is_refused(district, officer, parent):
    mine = decided_application(
        policy=district["policy"], prefs=["S440604001"], ref="P009", parent=parent
    )
    _allocate(officer, publish=False)

    with pytest.raises(ApplicationError) as refused:
        recheck_request(application=mine, actor=parent, reason="why?")

    assert refused.value.code == ErrorCode.ILLEGAL_TRANSITION
    assert recheck_message(refused.value) == "结果公布后才能申请复核。"
    assert Recheck.objects.count() == 0


def test_one_open_recheck_at_a_time_and_only_by_the_family(results, parent):
    recheck_request(application=results["application"], actor=parent, reason="first")
    stranger = UserFactory(role=Role.PARENT, username="stranger")

    with pytest.raises(ApplicationError, match="already open") as again:
        recheck_request(application=results["application"], actor=parent, reason="second")
    assert recheck_message(again.value) == "您已经申请过复核，正在处理中。"
    with pytest.raises(ApplicationError) as refused:
        recheck_request(application=results["application"], actor=stranger, reason="mine?")

    assert refused.value.code == ErrorCode.NOT_FOUND
    assert Recheck.objects.count() == 1


def test_an_upheld_recheck_leaves_the_decision(results, parent, officer):
    recheck = recheck_request(application=results["application"], actor=parent, reason="x")
    before = Decision.objects.get(application=results["application"], is_current=True)

    resolved = recheck_resolve(
        recheck=recheck, actor=officer, result="upheld", reason="社保记录核对无误"
    )

    assert (resolved.status, resolved.resolved_by, resolved.new_decision) == (
        "upheld",
        officer,
        None,
    )
    assert Decision.objects.get(application=results["application"], is_current=True) == before
    audit = AuditLog.objects.get(action="recheck.upheld")
    assert (audit.reason, audit.data) == (
        "社保记录核对无误",
        {"changes": {}, "old": {"status": "open"}, "new": {"status": "upheld"}},
    )


def test_a_changed_decision_flows_into_the_next_round(results, parent, officer):
    recheck = recheck_request(application=results["application"], actor=parent, reason="x")

    resolved = recheck_resolve(
        recheck=recheck,
        actor=officer,
        result="changed",
        reason="补录社保 20 个月",
        changes={"total_points": "85.0"},
    )

    current = Decision.objects.get(application=results["application"], is_current=True)
    assert resolved.new_decision == current
    assert (current.basis, current.total_points, current.decided_by, current.reason) == (
        "override",
        Decimal("85.0"),
        officer,
        "补录社保 20 个月",
    )
    assert current.trace[-1]["rule"] == "recheck.override"
    assert Decision.objects.filter(application=results["application"]).count() == 2
    event = results["application"].events.last()
    assert (event.reason_code, event.reason) == ("recheck_changed", "补录社保 20 个月")
    # the published round is not rewritten; the next one reads the new points. H001 and H002
    # hold their offers, so P001 now waits first in line for a freed place.
    second = _allocate(officer, seed=2)
    assert second.round == 2
    waiting = list(second.waitlist.values_list("application__ref", "position"))
    assert waiting == [("P001", 1)]
    points = second.placements.get(application__ref="P001").total_points
    assert points == Decimal("85.0")
    assert AllocationRun.objects.filter(published_at__isnull=False).count() == 2


def test_a_changed_decision_without_changes_is_refused(results, parent, officer):
    recheck = recheck_request(application=results["application"], actor=parent, reason="x")

    with pytest.raises(ApplicationError, match="sets some of"):
        recheck_resolve(recheck=recheck, actor=officer, result="changed", reason="r")

    recheck.refresh_from_db()
    assert recheck.status == "open"
    assert Decision.objects.filter(application=results["application"]).count() == 1


def test_officers_of_other_districts_cannot_answer(results, parent):
    recheck = recheck_request(application=results["application"], actor=parent, reason="x")
    stranger = UserFactory(role=Role.OFFICER, username="nanhai", district_code="440605")

    with pytest.raises(ApplicationError) as refused:
        recheck_resolve(recheck=recheck, actor=stranger, result="upheld", reason="r")

    assert refused.value.code == ErrorCode.NOT_FOUND
    recheck.refresh_from_db()
    assert recheck.status == "open"


def test_recheck_api_for_parent_and_officer(results, parent, officer, api):
    asked = api(parent).post(
        "/api/v1/applications/P001/rechecks/", {"reason": "住房应为自有"}, format="json"
    )
    assert asked.status_code == 201, asked.json()
    recheck_id = asked.json()["id"]

    listed = api(officer).get("/api/v1/officer/rechecks/", {"year": YEAR, "status": "open"})
    assert [row["ref"] for row in listed.json()] == ["P001"]

    resolved = api(officer).post(
        f"/api/v1/officer/rechecks/{recheck_id}/resolve/",
        {"result": "changed", "reason": "房产证已核实", "housing_class": "OWN"},
        format="json",
    )
    assert resolved.status_code == 200, resolved.json()
    assert resolved.json()["status"] == "changed"
    current = Decision.objects.get(application=results["application"], is_current=True)
    assert current.housing_class == "OWN"


def test_recheck_window_is_counted_from_the_embargo(district, officer, parent):
    mine = decided_application(
        policy=district["policy"], prefs=["S440604001"], ref="P010", parent=parent
    )
    run = allocation_run_create(
        admission_year=YEAR, seed=1, actor=officer, district_code="440604", enqueue=False
    )
    run = allocation_run_execute(run_id=run.pk)
    embargo = timezone.now() + timedelta(days=1)
    allocation_publish(run=run, actor=officer, reason="r1", visible_from=embargo)

    with pytest.raises(ApplicationError, match="once the results are published"):
        recheck_request(application=mine, actor=parent, reason="x")
    recheck = recheck_request(
        application=mine, actor=parent, reason="x", now=embargo + timedelta(days=6)
    )

    assert recheck.status == "open"
