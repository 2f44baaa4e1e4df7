from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.api.permissions import IsParent
from enrollment.errors import ApplicationError, ErrorCode
from enrollment.selectors.applications import (
    applicant_related,
    application_get,
    decision_withheld,
)
from enrollment.services.applications import ApplicationInput, PersonInput, application_submit
from enrollment.services.identity import IDENTITY_UNVERIFIED
from registry.idnumber import mask
from registry.webapi import IdNumberField


class PersonSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    id_number = IdNumberField()
    relation = serializers.CharField(max_length=16, required=False, default="")


class DecisionOutputSerializer(serializers.Serializer):
    outcome = serializers.CharField()
    hukou_class = serializers.CharField()
    housing_class = serializers.CharField()
    base_points = serializers.DecimalField(max_digits=6, decimal_places=1)
    bonus_points = serializers.DecimalField(max_digits=6, decimal_places=1)
    total_points = serializers.DecimalField(max_digits=6, decimal_places=1)
    residence_months = serializers.IntegerField()
    si_months = serializers.IntegerField()
    reasons = serializers.ListField(child=serializers.CharField())
    trace = serializers.ListField(child=serializers.DictField())
    policy_version = serializers.CharField(source="policy.version")


class ApplicationOutputSerializer(serializers.Serializer):
    ref = serializers.CharField()
    admission_year = serializers.IntegerField()
    state = serializers.CharField()
    child_name = serializers.CharField()
    child_id_number = serializers.SerializerMethodField()
    home_community_code = serializers.CharField()
    preferences = serializers.SerializerMethodField()
    applicant_relation = serializers.SerializerMethodField(
        help_text="Whether the registry related the applying account to the child: "
        "`confirmed`, `unconfirmed` (the decision and results are then withheld until an "
        "officer accepts evidence of the relation) or `pending` (not verified yet)."
    )
    decision = serializers.SerializerMethodField()

    def _related(self, obj) -> bool | None:
        if not hasattr(obj, "_applicant_related"):
            current = getattr(obj, "current_decisions", None)
            obj._applicant_related = applicant_related(
                application=obj, decision=current[0] if current else None
            )
        return obj._applicant_related

    def get_applicant_relation(self, obj) -> str:
        related = self._related(obj)
        return {True: "confirmed", False: "unconfirmed", None: "pending"}[related]

    def get_child_id_number(self, obj) -> str:
        return mask(obj.child_id_number)

    def get_preferences(self, obj) -> list[str]:
        return [p.school.code for p in obj.preferences.all()]

    @extend_schema(responses=DecisionOutputSerializer)
    def get_decision(self, obj) -> dict | None:
        current = getattr(obj, "current_decisions", None)
        if not current or decision_withheld(application=obj, decision=current[0]):
            return None
        return DecisionOutputSerializer(current[0]).data


class ApplicationSubmitApi(APIView):
    permission_classes = [IsParent]
    throttle_scope = "submissions"

    class InputSerializer(serializers.Serializer):
        admission_year = serializers.IntegerField(min_value=2000, max_value=2100)
        grade = serializers.ChoiceField(choices=["primary1"], default="primary1")
        child = PersonSerializer()
        guardians = PersonSerializer(many=True)
        home_community_code = serializers.CharField(max_length=12)
        home_address = serializers.CharField(
            max_length=255, required=False, default="", allow_blank=True
        )
        preferences = serializers.ListField(child=serializers.CharField(max_length=16))
        consent_given_by = IdNumberField()

    class OutputSerializer(serializers.Serializer):
        """The application as stored; its decision follows at `Location` once verified."""

        ref = serializers.CharField()
        admission_year = serializers.IntegerField()
        state = serializers.CharField()
        child_name = serializers.CharField()
        child_id_number = serializers.CharField(source="child_id_masked")
        home_community_code = serializers.CharField()
        preferences = serializers.SerializerMethodField()

        def get_preferences(self, obj) -> list[str]:
            return self.context["preferences"]

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request):
        if not request.user.is_identity_verified:
            # Before reading the body: nothing about the application matters yet.
            raise ApplicationError(
                ErrorCode.IDENTITY_UNVERIFIED,
                IDENTITY_UNVERIFIED,
                extra={"verify": reverse("api-identity")},
            )
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        application = application_submit(
            data=ApplicationInput(
                admission_year=data["admission_year"],
                grade=data["grade"],
                child=PersonInput(**data["child"]),
                guardians=[PersonInput(**g) for g in data["guardians"]],
                home_community_code=data["home_community_code"],
                home_address=data["home_address"],
                preferences=data["preferences"],
                consent_given_by=data["consent_given_by"],
            ),
            actor=request.user,
        )
        # Answered from what was just written: on opening day this is the hot path, and
        # reading the application back would cost as much as storing it.
        output = self.OutputSerializer(
            application, context={"preferences": [code.strip() for code in data["preferences"]]}
        )
        return Response(
            output.data,
            status=status.HTTP_201_CREATED,
            headers={"Location": reverse("api-application-detail", args=[application.ref])},
        )


class ApplicationDetailApi(APIView):
    permission_classes = [IsParent]

    @extend_schema(responses=ApplicationOutputSerializer)
    def get(self, request, ref: str):
        application = application_get(user=request.user, ref=ref)
        if application is None:
            raise ApplicationError(ErrorCode.NOT_FOUND, "No such application.", field="ref")
        return Response(ApplicationOutputSerializer(application).data)
