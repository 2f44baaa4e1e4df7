"""POST /registry/api/v1/verify/identities/: does a name match an ID number's hukou record?

The body and the answers are `registry.contract.IdentityQuestion` / `IdentityAnswer` as JSON,
exactly what `enrollment.gateway.HttpRegistryGateway.verify_identities` sends and reads. The
client comes from the API key and needs the `identity` scope; the purpose from
`X-Road-Purpose`, as for family questions.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from registry.api.authentication import scope_required
from registry.api.errors import LOOKUP_HEADERS, RegistryApi
from registry.consent import TOKEN_MAX_LENGTH
from registry.contract import IdentityQuestion, to_json
from registry.models import DepartmentClient
from registry.services.identity import verify_identities
from registry.webapi import IdNumberField

# A person binds an account once; a batch is a handful of questions, never a list to trawl.
MAX_QUESTIONS = 100


class VerifyIdentitiesApi(RegistryApi):
    permission_classes = [scope_required(DepartmentClient.Scope.IDENTITY)]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistryIdentityInput"

        class QuestionSerializer(serializers.Serializer):
            class Meta:
                ref_name = "RegistryIdentityQuestion"

            key = serializers.CharField(max_length=64)
            # Blank or absent reaches the service, which refuses and audits the refusal.
            consent_reference = serializers.CharField(
                max_length=128, required=False, default="", allow_blank=True
            )
            end_user = serializers.CharField(max_length=150)
            id_number = IdNumberField()
            name = serializers.CharField(max_length=64)
            consent_token = serializers.CharField(
                max_length=TOKEN_MAX_LENGTH, required=False, default="", allow_blank=True
            )

        questions = serializers.ListField(
            child=QuestionSerializer(), min_length=1, max_length=MAX_QUESTIONS
        )

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistryIdentityOutput"

        class AnswerSerializer(serializers.Serializer):
            class Meta:
                ref_name = "RegistryIdentityAnswer"

            key = serializers.CharField()
            matches = serializers.BooleanField()
            audit_entry_id = serializers.IntegerField(allow_null=True)

        answers = AnswerSerializer(many=True)

    @extend_schema(
        operation_id="registry_verify_identities",
        request=InputSerializer,
        responses={200: OutputSerializer},
        parameters=LOOKUP_HEADERS,
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        context = self.lookup_context(request)
        questions = [IdentityQuestion(**q) for q in serializer.validated_data["questions"]]
        answers = verify_identities(questions=questions, context=context)
        return Response({"answers": [to_json(answer) for answer in answers]})
