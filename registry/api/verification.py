"""POST /registry/api/v1/verify/families/: the verification service over HTTP.

The body and the answers are `registry.contract` types as JSON (`to_json` / `from_json`),
exactly what `enrollment.gateway.HttpRegistryGateway` sends and reads. The client comes from
the API key; the purpose from `X-Road-Purpose` (X-Road's issue header).
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from registry.api.authentication import scope_required
from registry.api.errors import LOOKUP_HEADERS, RegistryApi
from registry.consent import TOKEN_MAX_LENGTH
from registry.contract import FamilyQuestion, to_json
from registry.models import DepartmentClient
from registry.services.verification import verify_families
from registry.webapi import IdNumberField

# Django refuses request bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default), about
# 5,000 questions; larger batches go as several requests.
MAX_QUESTIONS = 5_000


class RecordRefSerializer(serializers.Serializer):
    source = serializers.CharField()
    key = serializers.CharField()
    batch_id = serializers.IntegerField()
    as_of = serializers.DateField()


class FamilyAnswerSerializer(serializers.Serializer):
    class HukouSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistryVerifyHukou"

        hukou_class = serializers.ChoiceField(choices=["D", "C", "N"])
        district_code = serializers.CharField()
        registered_on = serializers.DateField()
        record = RecordRefSerializer()

    class HousingSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistryVerifyHousing"

        owned_share_percent = serializers.DecimalField(max_digits=6, decimal_places=2)
        owned_record = RecordRefSerializer(allow_null=True)
        rental_record = RecordRefSerializer(allow_null=True)
        owns_elsewhere = serializers.BooleanField()
        elsewhere_record = RecordRefSerializer(allow_null=True)

    class SocialInsuranceSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistryVerifySocialInsurance"

        qualifying_months = serializers.IntegerField()
        guardian_index = serializers.IntegerField(allow_null=True)
        window_start = serializers.DateField(allow_null=True)
        window_end = serializers.DateField(allow_null=True)
        record = RecordRefSerializer(allow_null=True)

    class PermitSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistryVerifyPermit"

        qualifies = serializers.BooleanField()
        issued_on = serializers.DateField()
        expires_on = serializers.DateField()
        record = RecordRefSerializer()

    class GuardianRelationSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistryVerifyGuardianRelation"

        guardian_index = serializers.IntegerField()
        basis = serializers.ChoiceField(choices=["household", "evidence"])
        record = RecordRefSerializer(allow_null=True)

    key = serializers.CharField()
    child_hukou = HukouSerializer(allow_null=True)
    # The named adults who are related guardians; facts rest on these alone.
    related_guardians = GuardianRelationSerializer(many=True)
    housing = HousingSerializer()
    social_insurance = SocialInsuranceSerializer()
    permit = PermitSerializer(allow_null=True)
    audit_entry_id = serializers.IntegerField(allow_null=True)


class VerifyFamiliesApi(RegistryApi):
    permission_classes = [scope_required(DepartmentClient.Scope.VERIFY)]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistryVerifyInput"

        class QuestionSerializer(serializers.Serializer):
            class Meta:
                ref_name = "RegistryVerifyQuestion"

            key = serializers.CharField(max_length=64)
            # Blank or absent reaches the service, which refuses and audits the refusal.
            consent_reference = serializers.CharField(
                max_length=128, required=False, default="", allow_blank=True
            )
            end_user = serializers.CharField(max_length=150)
            child_id_number = IdNumberField()
            guardian_id_numbers = serializers.ListField(
                child=IdNumberField(), min_length=1, max_length=4
            )
            home_community_code = serializers.CharField(max_length=12)
            cutoff = serializers.DateField()
            district_code = serializers.CharField(max_length=6)
            city_code = serializers.CharField(max_length=6)
            si_window_months = serializers.IntegerField(min_value=1, max_value=600, default=120)
            permit_min_months = serializers.IntegerField(min_value=0, max_value=240, default=12)
            # As the consent reference: blank, absent or unreadable reaches the service, which
            # refuses with the reason's code and audits the refusal (registry/consent.py).
            consent_token = serializers.CharField(
                max_length=TOKEN_MAX_LENGTH, required=False, default="", allow_blank=True
            )
            # Positions in guardian_id_numbers (from 0) whose relation to the child the asking
            # department accepted on evidence.
            related_on_evidence = serializers.ListField(
                child=serializers.IntegerField(min_value=0, max_value=3),
                required=False,
                default=list,
                max_length=4,
            )

            def validate(self, attrs):
                named = len(attrs["guardian_id_numbers"])
                if any(index >= named for index in attrs["related_on_evidence"]):
                    raise serializers.ValidationError(
                        {"related_on_evidence": "each position must name a guardian asked about"}
                    )
                return attrs

        questions = QuestionSerializer(many=True, max_length=MAX_QUESTIONS)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistryVerifyOutput"

        answers = FamilyAnswerSerializer(many=True)

    @extend_schema(
        operation_id="registry_verify_families",
        request=InputSerializer,
        responses={200: OutputSerializer},
        parameters=LOOKUP_HEADERS,
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        context = self.lookup_context(request)
        questions = [
            FamilyQuestion(
                **{
                    **q,
                    "guardian_id_numbers": tuple(q["guardian_id_numbers"]),
                    "related_on_evidence": tuple(q["related_on_evidence"]),
                }
            )
            for q in serializer.validated_data["questions"]
        ]
        answers = verify_families(questions=questions, context=context)
        # Rendered with the contract's own `to_json`, so the HTTP gateway's `from_json` reads
        # back exactly what the in-process gateway returns; OutputSerializer documents it.
        return Response({"answers": [to_json(answer) for answer in answers]})
