"""Officers' allocation API: run (or dry-run), watch, compare, publish; re-checks; demand."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.api.permissions import IsOfficer
from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import Recheck
from enrollment.selectors.allocation import (
    allocation_run_get,
    allocation_run_list,
    allocation_run_outcome,
    allocation_run_unplaced,
)
from enrollment.selectors.rechecks import recheck_get, recheck_list
from enrollment.selectors.schools import school_demand_list
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_runs_compare,
)
from enrollment.services.rechecks import recheck_resolve


class RunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    admission_year = serializers.IntegerField()
    district_code = serializers.CharField()
    round = serializers.IntegerField()
    seed = serializers.IntegerField()
    is_dry_run = serializers.BooleanField()
    status = serializers.CharField()
    progress = serializers.IntegerField()
    progress_note = serializers.CharField()
    inputs_fingerprint = serializers.CharField()
    policy_version = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", default=None)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField()
    applicants_count = serializers.IntegerField()
    placed_count = serializers.IntegerField()
    unplaced_count = serializers.IntegerField()
    counts = serializers.DictField()
    error = serializers.CharField()
    published_at = serializers.DateTimeField()
    visible_from = serializers.DateTimeField()
    respond_by = serializers.DateTimeField()


def _run_or_404(request, run_id: int):
    run = allocation_run_get(user=request.user, run_id=run_id)
    if run is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such allocation run.", field="run")
    return run


def _run_data(run, user) -> dict:
    """The run as the officer sees it: of a city-wide run, only their district's part (its
    schools' counts, its applicants' figures)."""
    outcome = allocation_run_outcome(user=user, run=run)
    return {
        **RunOutputSerializer(run).data,
        "counts": outcome.counts,
        "applicants_count": outcome.applicants_count,
        "placed_count": outcome.placed_count,
        "unplaced_count": outcome.unplaced_count,
    }


class AllocationRunListCreateApi(APIView):
    """GET the runs of a year that place the district's applicants: its own and the city-wide
    ones, each showing only the district's part; POST records a run (or a dry run) of the
    district's next round and queues it; watch its `progress` on the detail endpoint."""

    permission_classes = [IsOfficer]

    class FilterSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)

    class InputSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)
        seed = serializers.IntegerField(min_value=0, max_value=2**63 - 1)
        dry_run = serializers.BooleanField(default=False)

    @extend_schema(
        parameters=[OpenApiParameter("year", int, required=True)],
        responses=RunOutputSerializer(many=True),
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        runs = allocation_run_list(user=request.user, admission_year=filters.validated_data["year"])
        return Response([_run_data(run, request.user) for run in runs])

    @extend_schema(request=InputSerializer, responses={202: RunOutputSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = allocation_run_create(
            admission_year=data["year"],
            seed=data["seed"],
            actor=request.user,
            district_code=request.user.district_code,
            dry_run=data["dry_run"],
        )
        run.refresh_from_db()
        return Response(_run_data(run, request.user), status=status.HTTP_202_ACCEPTED)


class AllocationRunDetailApi(APIView):
    """One run with its progress, counts per school and the applications it did not place;
    of a city-wide run, the district's schools and applicants only."""

    permission_classes = [IsOfficer]

    class OutputSerializer(RunOutputSerializer):
        unplaced = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses=OutputSerializer)
    def get(self, request, run_id: int):
        run = _run_or_404(request, run_id)
        unplaced = allocation_run_unplaced(user=request.user, run=run)
        return Response({**_run_data(run, request.user), "unplaced": unplaced})


class AllocationRunCompareApi(APIView):
    """Which of the district's applicants changed school between two runs of one scope."""

    permission_classes = [IsOfficer]

    class OutputSerializer(serializers.Serializer):
        ref = serializers.CharField()
        first_school = serializers.CharField(allow_null=True)
        second_school = serializers.CharField(allow_null=True)

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request, run_id: int, other_id: int):
        changes = allocation_runs_compare(
            first=_run_or_404(request, run_id),
            second=_run_or_404(request, other_id),
            user=request.user,
        )
        return Response(self.OutputSerializer(changes, many=True).data)


class AllocationRunPublishApi(APIView):
    """Publish a finished run: offers for its placements, visible from `visible_from` (the
    embargo; now when left out), to be answered by `respond_by`."""

    permission_classes = [IsOfficer]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500)
        visible_from = serializers.DateTimeField(required=False, allow_null=True, default=None)
        respond_by = serializers.DateTimeField(required=False, allow_null=True, default=None)

    @extend_schema(request=InputSerializer, responses=RunOutputSerializer)
    def post(self, request, run_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = allocation_publish(
            run=_run_or_404(request, run_id),
            actor=request.user,
            reason=data["reason"],
            visible_from=data["visible_from"],
            respond_by=data["respond_by"],
        )
        return Response(_run_data(run, request.user))


class RecheckOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ref = serializers.CharField(source="application.ref")
    status = serializers.CharField()
    reason = serializers.CharField()
    requested_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField()
    resolution_reason = serializers.CharField()


class OfficerRecheckListApi(APIView):
    permission_classes = [IsOfficer]

    class FilterSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)
        status = serializers.ChoiceField(choices=Recheck.Status.values, required=False, default="")

    @extend_schema(
        parameters=[
            OpenApiParameter("year", int, required=True),
            OpenApiParameter("status", str, required=False),
        ],
        responses=RecheckOutputSerializer(many=True),
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rechecks = recheck_list(
            user=request.user,
            admission_year=filters.validated_data["year"],
            status=filters.validated_data["status"],
        )
        return Response(RecheckOutputSerializer(rechecks, many=True).data)


class OfficerRecheckResolveApi(APIView):
    """Answer a re-check: upheld, or changed with the corrected decision values."""

    permission_classes = [IsOfficer]

    class InputSerializer(serializers.Serializer):
        result = serializers.ChoiceField(choices=[Recheck.Status.UPHELD, Recheck.Status.CHANGED])
        reason = serializers.CharField(max_length=1000)
        outcome = serializers.CharField(required=False)
        total_points = serializers.DecimalField(max_digits=6, decimal_places=1, required=False)
        hukou_class = serializers.CharField(required=False)
        housing_class = serializers.CharField(required=False)

    @extend_schema(request=InputSerializer, responses=RecheckOutputSerializer)
    def post(self, request, recheck_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        recheck = recheck_get(user=request.user, recheck_id=recheck_id)
        if recheck is None:
            raise ApplicationError(ErrorCode.NOT_FOUND, "No such re-check.", field="recheck")
        result, reason = data.pop("result"), data.pop("reason")
        recheck = recheck_resolve(
            recheck=recheck, actor=request.user, result=result, reason=reason, changes=data
        )
        return Response(RecheckOutputSerializer(recheck).data)


class OfficerSchoolDemandApi(APIView):
    """Demand against seats for every school of the officer's district (school_demand_list)."""

    permission_classes = [IsOfficer]

    class FilterSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        kind = serializers.CharField()
        seats = serializers.IntegerField()
        first_preference = serializers.IntegerField()
        any_preference = serializers.IntegerField()
        eligible_first_preference = serializers.IntegerField()
        eligible_any_preference = serializers.IntegerField()
        placed = serializers.IntegerField()
        lat = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
        lon = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)

    @extend_schema(
        parameters=[OpenApiParameter("year", int, required=True)],
        responses=OutputSerializer(many=True),
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = school_demand_list(user=request.user, admission_year=filters.validated_data["year"])
        return Response(self.OutputSerializer(rows, many=True).data)
