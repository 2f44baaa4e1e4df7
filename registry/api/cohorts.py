"""POST /registry/api/v1/planning/cohorts/: the planning question over HTTP.

The body is a `registry.contract.CohortQuestion` as JSON and the answer a `CohortAnswer`,
exactly what `enrollment.gateway.HttpRegistryGateway.cohort_counts` sends and reads. The
client comes from the API key and needs the `plan` scope; the purpose from `X-Road-Purpose`.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from registry.api.authentication import scope_required
from registry.api.errors import LOOKUP_HEADERS, RegistryApi
from registry.consent import TOKEN_MAX_LENGTH
from registry.contract import CohortQuestion, to_json
from registry.models import DepartmentClient
from registry.services.cohorts import MAX_YEARS, cohort_counts

# A city of a thousand schools has a few thousand communities; a request naming every
# community of a large province still fits Django's 2.5 MB body limit.
MAX_COMMUNITIES = 20_000


class CohortsApi(RegistryApi):
    permission_classes = [scope_required(DepartmentClient.Scope.PLAN)]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistryCohortsInput"

        key = serializers.CharField(max_length=64)
        # Blank or absent reaches the service, which refuses and audits the refusal.
        consent_reference = serializers.CharField(
            max_length=128, required=False, default="", allow_blank=True
        )
        end_user = serializers.CharField(max_length=150)
        area_code = serializers.CharField(max_length=6)
        community_codes = serializers.ListField(
            child=serializers.CharField(max_length=12), min_length=1, max_length=MAX_COMMUNITIES
        )
        admission_years = serializers.ListField(
            child=serializers.IntegerField(min_value=2000, max_value=2100),
            min_length=1,
            max_length=MAX_YEARS,
        )
        consent_token = serializers.CharField(
            max_length=TOKEN_MAX_LENGTH, required=False, default="", allow_blank=True
        )

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistryCohortsOutput"

        key = serializers.CharField()
        community_codes = serializers.ListField(child=serializers.CharField())
        admission_years = serializers.ListField(child=serializers.IntegerField())
        # children[i][j]: community i, admission year j; null when withheld (1 to min_count - 1).
        children = serializers.ListField(
            child=serializers.ListField(child=serializers.IntegerField(allow_null=True))
        )
        min_count = serializers.IntegerField()
        as_of = serializers.DateField(allow_null=True)
        audit_entry_id = serializers.IntegerField(allow_null=True)

    @extend_schema(
        operation_id="registry_planning_cohorts",
        request=InputSerializer,
        responses={200: OutputSerializer},
        parameters=LOOKUP_HEADERS,
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        context = self.lookup_context(request)
        data = serializer.validated_data
        question = CohortQuestion(
            **{
                **data,
                "community_codes": tuple(data["community_codes"]),
                "admission_years": tuple(data["admission_years"]),
            }
        )
        answer = cohort_counts(question=question, context=context)
        return Response(to_json(answer))
