"""Allocation runs through the services, the task, the command and the officer API."""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from config.celery_app import app as celery_app
from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import AllocationRun, AuditLog, Offer, Placement, Role, WaitlistEntry
from enrollment.services import allocation as allocation_service
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_run_execute,
    allocation_runs_compare,
)
from enrollment.tasks import allocation_run
from registry import idnumber
from tests.conftest import YEAR, wait_until
from tests.enrollment.allocation_helpers import decided_application
from tests.enrollment.factories import SchoolFactory, UserFactory

pytestmark = pytest.mark.django_db

OTHER = "440604010009"


@pytest.fixture
def schools(district):
    """S440604001: 2 seats, catchment HOME (conftest); S440604002: 1 seat, no catchment."""
    return district["school"], SchoolFactory(
        code="S440604002", capacity=1, catchment_communities=[]
    )


@pytest.fixture
def families(district, schools):
    policy = district["policy"]
    return {
        "home_low": decided_application(
            policy=policy, prefs=["S440604001", "S440604002"], points="60", ref="A001"
        ),
        "far_high": decided_application(
            policy=policy,
            prefs=["S440604001", "S440604002"],
            points="109.3",
            home=OTHER,
            ref="A002",
        ),
        "far_mid": decided_application(
            policy=policy, prefs=["S440604001"], points="95", home=OTHER, ref="A003"
        ),
        "home_mid": decided_application(
            policy=policy, prefs=["S440604001"], points="80", ref="A004"
        ),
        "ineligible": decided_application(
            policy=policy,
            prefs=["S440604001"],
            points="120",
            outcome="ineligible",
            ref="A005",
        ),
    }


@pytest.fixture(autouse=True)
def other_community(db):
    from enrollment.models import Community

    return Community.objects.create(code=OTHER, district_code="440604")


def _run(officer, seed=7, dry_run=False, capture=None):
    with capture(execute=True):
        run = allocation_run_create(
            admission_year=YEAR,
            seed=seed,
            actor=officer,
            district_code="440604",
            dry_run=dry_run,
        )
    run.refresh_from_db()
    return run


def _placements(run):
    return dict(Placement.objects.filter(run=run).values_list("application__ref", "school__code"))


def test_a_run_is_recorded_computed_by_the_task_and_places_catchment_first(
    families, officer, django_capture_on_commit_callbacks
):
    run = _run(officer, capture=django_capture_on_commit_callbacks)

    assert (run.status, run.progress, run.round, run.seed) == ("done", 100, 1, 7)
    assert run.created_by == officer
    assert run.policy_version == "2027.1"
    assert len(run.inputs_fingerprint) == 64
    # only the four eligible applications take part; home ones first at S440604001
    assert _placements(run) == {
        "A001": "S440604001",
        "A004": "S440604001",
        "A002": "S440604002",
        "A003": None,
    }
    assert (run.applicants_count, run.placed_count, run.unplaced_count) == (4, 3, 1)
    assert run.counts == {
        "S440604001": {"capacity": 2, "placed": 2, "in_catchment": 2, "waiting": 2},
        "S440604002": {"capacity": 1, "placed": 1, "in_catchment": 0, "waiting": 0},
    }
    ranks = dict(
        Placement.objects.filter(run=run, school__code="S440604001").values_list(
            "application__ref", "school_rank"
        )
    )
    assert ranks == {"A004": 1, "A001": 2}
    waiting = list(
        WaitlistEntry.objects.filter(run=run, school__code="S440604001")
        .order_by("position")
        .values_list("application__ref", "position")
    )
    assert waiting == [("A002", 1), ("A003", 2)]
    assert AuditLog.objects.filter(action="allocation.run", actor=officer).count() == 1


def test_the_task_is_named_and_routed_to_the_allocation_queue():
    assert allocation_run.name == "enrollment.allocation_run"
    route = celery_app.amqp.router.route({}, "enrollment.allocation_run")
    assert route["queue"].name == "allocation"


def test_progress_is_visible_while_the_run_goes_on(families, officer, monkeypatch):
    run = allocation_run_create(
        admission_year=YEAR, seed=1, actor=officer, district_code="440604", enqueue=False
    )
    seen = []
    real = allocation_service.allocation.allocate

    def watching(*args, **kwargs):
        row = AllocationRun.objects.values("status", "progress", "progress_note").get(pk=run.pk)
        seen.append(row)
        return real(*args, **kwargs)

    monkeypatch.setattr(allocation_service.allocation, "allocate", watching)

    allocation_run_execute(run_id=run.pk)

    assert seen == [{"status": "running", "progress": 30, "progress_note": "allocating"}]


def test_a_failed_run_keeps_its_reason_with_id_numbers_masked(families, officer, monkeypatch):
    run = allocation_run_create(
        admission_year=YEAR, seed=1, actor=officer, district_code="440604", enqueue=False
    )
    child = idnumber.make("440604", date(2020, 3, 15), 123)

    def failing(*args, **kwargs):
        raise RuntimeError(f"Key (child_id_number)=({child}) already exists.")

    monkeypatch.setattr(allocation_service.allocation, "allocate", failing)

    with pytest.raises(RuntimeError):
        allocation_run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.status == AllocationRun.Status.FAILED
    assert run.error == f"Key (child_id_number)=({idnumber.mask(child)}) already exists."
    assert child not in run.error
    assert Placement.objects.filter(run=run).count() == 0


def test_same_inputs_and_seed_give_the_same_result_and_running_again_changes_nothing(
    families, officer, django_capture_on_commit_callbacks
):
    first = _run(officer, seed=11, dry_run=True, capture=django_capture_on_commit_callbacks)
    second = _run(officer, seed=11, dry_run=True, capture=django_capture_on_commit_callbacks)

    assert first.inputs_fingerprint == second.inputs_fingerprint
    assert _placements(first) == _placements(second)
    assert allocation_runs_compare(first=first, second=second) == []
    lotteries = lambda run: dict(  # noqa: E731
        Placement.objects.filter(run=run).values_list("application__ref", "lottery_number")
    )
    assert lotteries(first) == lotteries(second)

    again = allocation_run_execute(run_id=first.pk)

    assert again.status == "done"
    assert Placement.objects.filter(run=first).count() == 4


def test_compare_names_the_applicants_who_changed_school(
    district, schools, officer, django_capture_on_commit_callbacks
):
    # two equal families for one seat: the lottery decides, so some seed changes the winner
    for ref in ("B001", "B002"):
        decided_application(policy=district["policy"], prefs=["S440604002"], ref=ref, home=OTHER)
    runs = [
        _run(officer, seed=seed, dry_run=True, capture=django_capture_on_commit_callbacks)
        for seed in range(6)
    ]
    winners = {run.pk: _placements(run) for run in runs}
    first = runs[0]
    other = next(run for run in runs if winners[run.pk] != winners[first.pk])

    changes = allocation_runs_compare(first=first, second=other)

    assert sorted((c.ref, c.first_school, c.second_school) for c in changes) == sorted(
        (ref, winners[first.pk][ref], winners[other.pk][ref]) for ref in ("B001", "B002")
    )
    assert {c.first_school for c in changes} == {"S440604002", None}


def test_publish_makes_offers_visible_from_the_embargo(
    families, officer, django_capture_on_commit_callbacks
):
    run = _run(officer, capture=django_capture_on_commit_callbacks)
    embargo = timezone.now() + timedelta(hours=2)

    published = allocation_publish(
        run=run, actor=officer, reason="round 1 results", visible_from=embargo
    )

    assert published.published_at is not None
    assert published.visible_from == embargo
    assert published.respond_by == embargo + timedelta(days=7)
    offers = dict(Offer.objects.values_list("application__ref", "school__code"))
    assert offers == {"A001": "S440604001", "A004": "S440604001", "A002": "S440604002"}
    assert set(Offer.objects.values_list("status", flat=True)) == {"offered"}
    entry = AuditLog.objects.get(action="allocation.publish")
    assert (entry.actor, entry.reason, entry.data["offers_made"]) == (officer, "round 1 results", 3)


def test_a_dry_run_is_never_published(families, officer, django_capture_on_commit_callbacks):
    run = _run(officer, dry_run=True, capture=django_capture_on_commit_callbacks)

    with pytest.raises(ApplicationError) as refused:
        allocation_publish(run=run, actor=officer, reason="oops")

    assert refused.value.code == ErrorCode.INVALID
    assert Offer.objects.count() == 0
    run.refresh_from_db()
    assert run.published_at is None


def test_a_run_whose_inputs_changed_is_not_published(
    district, families, officer, django_capture_on_commit_callbacks
):
    run = _run(officer, capture=django_capture_on_commit_callbacks)
    decided_application(policy=district["policy"], prefs=["S440604002"], ref="A009", points="99")

    with pytest.raises(ApplicationError, match="changed since this run"):
        allocation_publish(run=run, actor=officer, reason="results")

    assert Offer.objects.count() == 0


def test_officers_act_on_their_own_district_only(families, officer):
    stranger = UserFactory(role=Role.OFFICER, username="nanhai", district_code="440605")

    with pytest.raises(ApplicationError) as refused:
        allocation_run_create(admission_year=YEAR, seed=1, actor=stranger, district_code="440604")

    assert refused.value.code == ErrorCode.PERMISSION_DENIED
    assert AllocationRun.objects.count() == 0


def test_publishing_twice_or_out_of_round_is_refused(
    families, officer, django_capture_on_commit_callbacks
):
    run = _run(officer, capture=django_capture_on_commit_callbacks)
    allocation_publish(run=run, actor=officer, reason="round 1")

    with pytest.raises(ApplicationError) as refused:
        allocation_publish(run=run, actor=officer, reason="again")

    assert refused.value.code == ErrorCode.ILLEGAL_TRANSITION
    assert Offer.objects.count() == 3


def test_a_later_round_fills_declined_and_expired_places_from_the_waiting_lists(
    families, officer, django_capture_on_commit_callbacks
):
    run = _run(officer, capture=django_capture_on_commit_callbacks)
    allocation_publish(run=run, actor=officer, reason="round 1")
    # A004 declines S440604001; A001's offer lapses unanswered; A002 keeps S440604002
    Offer.objects.filter(application__ref="A004").update(status="declined")
    Offer.objects.filter(application__ref="A001").update(
        respond_by=timezone.now() - timedelta(minutes=1)
    )

    second = _run(officer, seed=8, capture=django_capture_on_commit_callbacks)
    allocation_publish(run=second, actor=officer, reason="round 2")

    assert second.round == 2
    # A002 rises from S440604002 to its first choice; A003 is next on the list
    assert _placements(second) == {
        "A002": "S440604001",
        "A003": "S440604001",
        "A004": None,
    }
    live = dict(
        Offer.objects.filter(status__in=Offer.LIVE).values_list("application__ref", "school__code")
    )
    assert live == {"A002": "S440604001", "A003": "S440604001"}
    statuses = dict(Offer.objects.filter(round=1).values_list("application__ref", "status"))
    assert statuses == {"A001": "expired", "A002": "superseded", "A004": "declined"}


def test_an_accepted_place_is_kept_in_later_rounds(
    district, families, officer, django_capture_on_commit_callbacks
):
    run = _run(officer, capture=django_capture_on_commit_callbacks)
    allocation_publish(run=run, actor=officer, reason="round 1")
    Offer.objects.filter(application__ref="A001").update(status="accepted")
    # a newcomer with a home in the catchment and more points than A001
    decided_application(policy=district["policy"], prefs=["S440604001"], points="110", ref="A010")

    second = _run(officer, seed=9, capture=django_capture_on_commit_callbacks)

    placements = _placements(second)
    assert placements["A001"] == "S440604001"
    assert placements["A004"] == "S440604001"
    assert placements["A010"] is None


def test_run_allocation_command_is_reproducible_and_publishes(families):
    out = io.StringIO()
    call_command("run_allocation", "--year", str(YEAR), "--seed", "42", stdout=out)
    first = AllocationRun.objects.get()
    call_command("run_allocation", "--year", str(YEAR), "--seed", "42", stdout=io.StringIO())
    second = AllocationRun.objects.exclude(pk=first.pk).get()

    assert out.getvalue().splitlines()[0] == (
        f"run {first.pk}: year {YEAR}, round 1, seed 42, policy 2027.1, applicants 4, "
        f"placed 3, unplaced 1, inputs {first.inputs_fingerprint[:16]}"
    )
    assert first.inputs_fingerprint == second.inputs_fingerprint
    assert _placements(first) == _placements(second)
    assert allocation_runs_compare(first=first, second=second) == []

    published = io.StringIO()
    call_command(
        "run_allocation", "--year", str(YEAR), "--seed", "42", "--publish", stdout=published
    )
    third = AllocationRun.objects.order_by("-id").first()
    assert third.published_at is not None
    assert _placements(third) == _placements(first)
    assert Offer.objects.count() == 3


def test_run_allocation_command_exits_with_a_reason_when_there_are_no_schools(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No schools admit in 2031"):
        call_command("run_allocation", "--year", "2031", "--seed", "1")
    assert AllocationRun.objects.count() == 0


def test_officer_api_runs_watches_compares_and_publishes(
    families, officer, api, django_capture_on_commit_callbacks
):
    client = api(officer)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/officer/allocation/runs/", {"year": YEAR, "seed": 5}, format="json"
        )
    assert created.status_code == 202, created.json()
    run_id = created.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        dry = client.post(
            "/api/v1/officer/allocation/runs/",
            {"year": YEAR, "seed": 5, "dry_run": True},
            format="json",
        ).json()["id"]

    detail = client.get(f"/api/v1/officer/allocation/runs/{run_id}/").json()
    assert (detail["status"], detail["progress"], detail["placed_count"]) == ("done", 100, 3)
    assert detail["unplaced"] == ["A003"]
    assert client.get(f"/api/v1/officer/allocation/runs/{run_id}/compare/{dry}/").json() == []

    published = client.post(
        f"/api/v1/officer/allocation/runs/{run_id}/publish/", {"reason": "results"}, format="json"
    )
    assert published.status_code == 200, published.json()
    assert published.json()["published_at"] is not None
    listed = client.get("/api/v1/officer/allocation/runs/", {"year": YEAR}).json()
    assert sorted(row["id"] for row in listed) == sorted([run_id, dry])


def test_officer_api_hides_other_districts_runs(
    families, officer, api, django_capture_on_commit_callbacks
):
    run = _run(officer, capture=django_capture_on_commit_callbacks)
    stranger = UserFactory(role=Role.OFFICER, username="nanhai", district_code="440605")

    response = api(stranger).get(f"/api/v1/officer/allocation/runs/{run.pk}/")
    publish = api(stranger).post(
        f"/api/v1/officer/allocation/runs/{run.pk}/publish/", {"reason": "x"}, format="json"
    )

    assert response.status_code == 404
    assert publish.status_code == 404
    assert Offer.objects.count() == 0
    assert api(stranger).get("/api/v1/officer/allocation/runs/", {"year": YEAR}).json() == []


def test_placements_record_points_and_preference_ranks(
    families, officer, django_capture_on_commit_callbacks
):
    run = _run(officer, capture=django_capture_on_commit_callbacks)

    row = Placement.objects.get(run=run, application__ref="A002")

    assert (row.total_points, row.preference_rank, row.in_catchment) == (Decimal("109.3"), 2, False)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_computes_the_run_from_the_allocation_queue(
    celery_worker_process, district, schools, officer
):
    for ref, points in (("W001", "90"), ("W002", "80"), ("W003", "70")):
        decided_application(policy=district["policy"], prefs=["S440604001"], points=points, ref=ref)

    run = allocation_run_create(admission_year=YEAR, seed=3, actor=officer, district_code="440604")

    done = wait_until(
        lambda: AllocationRun.objects.filter(pk=run.pk, status="done").first(), timeout=120
    )
    assert (done.progress, done.placed_count, done.unplaced_count) == (100, 2, 1)
    assert _placements(done) == {"W001": "S440604001", "W002": "S440604001", "W003": None}


def test_a_run_being_computed_is_left_alone_and_an_abandoned_one_is_started_over(families, officer):
    run = allocation_run_create(
        admission_year=YEAR, seed=1, actor=officer, district_code="440604", enqueue=False
    )
    AllocationRun.objects.filter(pk=run.pk).update(status="running", started_at=timezone.now())

    busy = allocation_run_execute(run_id=run.pk)

    assert (busy.status, Placement.objects.filter(run=run).count()) == ("running", 0)

    AllocationRun.objects.filter(pk=run.pk).update(
        started_at=timezone.now() - timedelta(minutes=31)
    )
    redone = allocation_run_execute(run_id=run.pk)

    assert (redone.status, Placement.objects.filter(run=run).count()) == ("done", 4)
