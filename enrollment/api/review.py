"""Officer review, findings, overrides, re-verification and what-if; a parent's evidence.

Each view validates its input, calls one service (enrollment.services.review / whatif) and
renders; refusals come back as `{"message", "code", "extra"}` from the shared handler.
"""

from dataclasses import asdict

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.api.permissions import IsOfficer, role_permission
from enrollment.errors import ApplicationError, ErrorCode
from enrollment.models import Application, ApplicationState, Decision, Evidence, Role
from enrollment.selectors.applications import (
    application_list,
    application_review_list,
    current_decision_get,
    evidence_get,
)
from enrollment.services.findings import decision_override, finding_accept
from enrollment.services.review import evidence_review, evidence_submit, verification_retry
from enrollment.services.whatif import policy_what_if

IsParentOrOfficer = role_permission(Role.PARENT, Role.OFFICER)


def _application(user, ref: str) -> Application:
    application = application_list(user=user).filter(ref=ref).first()
    if application is None:
        raise ApplicationError(ErrorCode.NOT_FOUND, "No such application.", field="ref")
    return application


class EvidenceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    fact = serializers.CharField()
    kind = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    statement = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    review = serializers.CharField()
    review_reason = serializers.CharField()
    accepted_values = serializers.DictField()


class DecisionBriefSerializer(serializers.Serializer):
    outcome = serializers.CharField()
    basis = serializers.CharField()
    total_points = serializers.DecimalField(max_digits=6, decimal_places=1)
    reasons = serializers.ListField(child=serializers.CharField())
    policy_version = serializers.CharField(source="policy.version")


class EvidenceSubmitApi(APIView):
    """A parent offers evidence (PDF/JPEG/PNG) or signs a commitment about one fact."""

    permission_classes = [IsParentOrOfficer]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    class InputSerializer(serializers.Serializer):
        fact = serializers.ChoiceField(choices=Evidence.Fact.values)
        kind = serializers.ChoiceField(choices=[k for k, _ in Evidence.Kind.family_choices()])
        file = serializers.FileField(required=False)
        statement = serializers.CharField(required=False, default="", allow_blank=True)

    @extend_schema(request=InputSerializer, responses={201: EvidenceOutputSerializer})
    def post(self, request, ref: str):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        evidence = evidence_submit(
            application=_application(request.user, ref),
            actor=request.user,
            fact=data["fact"],
            kind=data["kind"],
            file=data.get("file"),
            statement=data["statement"],
        )
        return Response(EvidenceOutputSerializer(evidence).data, status=status.HTTP_201_CREATED)


class EvidenceReviewApi(APIView):
    """An officer accepts or rejects one piece of evidence with a reason."""

    permission_classes = [IsOfficer]

    class InputSerializer(serializers.Serializer):
        accept = serializers.BooleanField()
        reason = serializers.CharField(max_length=500)
        values = serializers.DictField(required=False, default=dict)

    @extend_schema(request=InputSerializer, responses=EvidenceOutputSerializer)
    def post(self, request, pk: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        evidence = evidence_get(user=request.user, evidence_id=pk)
        if evidence is None:
            raise ApplicationError(ErrorCode.NOT_FOUND, "No such evidence.", field="pk")
        evidence = evidence_review(
            actor=request.user,
            evidence=evidence,
            accept=data["accept"],
            reason=data["reason"],
            values=data["values"],
        )
        return Response(EvidenceOutputSerializer(evidence).data)


class FindingApi(APIView):
    """An officer accepts a fact on their own finding, with a reason; the application is scored
    again through the policy (or, for a relation, verified again)."""

    permission_classes = [IsOfficer]

    class InputSerializer(serializers.Serializer):
        fact = serializers.ChoiceField(choices=Evidence.Fact.values)
        reason = serializers.CharField(max_length=500)
        values = serializers.DictField(required=False, default=dict)
        # The decision the officer saw; when given, a finding against a changed one is refused.
        decision_id = serializers.IntegerField(required=False)

    class OutputSerializer(serializers.Serializer):
        finding = EvidenceOutputSerializer()
        state = serializers.CharField()
        # None while the registry is asked again (a relation accepted).
        decision = DecisionBriefSerializer(allow_null=True)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request, ref: str):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        application = _application(request.user, ref)
        finding = finding_accept(
            actor=request.user,
            application=application,
            fact=data["fact"],
            reason=data["reason"],
            values=data["values"],
            expected_decision_id=data.get("decision_id"),
        )
        application.refresh_from_db()
        decision = (
            None
            if application.state == ApplicationState.VERIFYING
            else current_decision_get(application=application)
        )
        output = {"finding": finding, "state": application.state, "decision": decision}
        return Response(self.OutputSerializer(output).data, status=status.HTTP_201_CREATED)


class DecisionOverrideApi(APIView):
    """An officer decides an application not eligible by hand, with a reason. `eligible` is
    refused: a case becomes eligible through a finding (FindingApi), scored by the policy."""

    permission_classes = [IsOfficer]

    class InputSerializer(serializers.Serializer):
        # `eligible` reaches the service, whose refusal names the way that is offered instead.
        outcome = serializers.ChoiceField(
            choices=[Decision.Outcome.ELIGIBLE, Decision.Outcome.INELIGIBLE]
        )
        reason = serializers.CharField(max_length=500)
        # The decision the officer saw; when given, an override of a changed one is refused.
        decision_id = serializers.IntegerField(required=False)

    @extend_schema(request=InputSerializer, responses=DecisionBriefSerializer)
    def post(self, request, ref: str):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decision = decision_override(
            actor=request.user,
            application=_application(request.user, ref),
            outcome=serializer.validated_data["outcome"],
            reason=serializer.validated_data["reason"],
            expected_decision_id=serializer.validated_data.get("decision_id"),
        )
        return Response(DecisionBriefSerializer(decision).data)


class VerificationRetryApi(APIView):
    """An officer asks the registry again about an application waiting for review."""

    permission_classes = [IsOfficer]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500)

    @extend_schema(request=InputSerializer, responses={202: None})
    def post(self, request, ref: str):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = verification_retry(
            actor=request.user,
            application=_application(request.user, ref),
            reason=serializer.validated_data["reason"],
        )
        return Response(
            {"ref": application.ref, "state": application.state}, status=status.HTTP_202_ACCEPTED
        )


class ReviewQueueApi(APIView):
    """The officer's district's applications waiting for review, pending evidence first."""

    permission_classes = [IsOfficer]

    class FilterSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)

    class OutputSerializer(serializers.Serializer):
        ref = serializers.CharField()
        state = serializers.CharField()
        child_name = serializers.CharField()
        has_pending_evidence = serializers.BooleanField()
        evidence = EvidenceOutputSerializer(many=True)

    @extend_schema(
        parameters=[OpenApiParameter("year", int, required=True)],
        responses=OutputSerializer(many=True),
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queue = application_review_list(
            user=request.user,
            admission_year=filters.validated_data["year"],
            state=ApplicationState.NEEDS_REVIEW,
        )
        return Response(self.OutputSerializer(queue[:500], many=True).data)


class PolicyWhatIfApi(APIView):
    """Try a changed policy document on every current application; nothing is changed."""

    permission_classes = [IsOfficer]

    class InputSerializer(serializers.Serializer):
        document = serializers.DictField()

    @extend_schema(request=InputSerializer, responses={200: dict})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = policy_what_if(
            officer=request.user, document=serializer.validated_data["document"]
        )
        return Response(asdict(result))
