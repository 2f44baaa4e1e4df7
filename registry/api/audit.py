"""POST /registry/api/v1/audit/lookups/: who looked at these people's data."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from registry.api.authentication import scope_required
from registry.api.errors import RegistryApi
from registry.contract import to_json
from registry.models import DepartmentClient
from registry.selectors import lookups_about
from registry.webapi import IdNumberField


class AuditLookupsApi(RegistryApi):
    permission_classes = [scope_required(DepartmentClient.Scope.AUDIT)]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistryAuditLookupsInput"

        id_numbers = serializers.ListField(child=IdNumberField(), min_length=1, max_length=100)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistryAuditLookupsOutput"

        class LookupSerializer(serializers.Serializer):
            class Meta:
                ref_name = "RegistryAuditLookupsLookup"

            at = serializers.DateTimeField()
            client_id = serializers.CharField()
            client_name = serializers.CharField(allow_blank=True)
            purpose = serializers.CharField()
            consent_reference = serializers.CharField()
            outcome = serializers.ChoiceField(choices=["answered", "refused"])

        lookups = LookupSerializer(many=True)

    @extend_schema(
        operation_id="registry_audit_lookups",
        request=InputSerializer,
        responses={200: OutputSerializer},
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lookups = lookups_about(id_numbers=serializer.validated_data["id_numbers"])
        return Response({"lookups": [to_json(lookup) for lookup in lookups]})
