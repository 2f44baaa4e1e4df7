"""POST /registry/api/v1/records/: one record captured at a one-stop counter (一门式)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from registry.api.authentication import scope_required
from registry.api.errors import RegistryApi
from registry.feeds.specs import FEEDS
from registry.models import DepartmentClient
from registry.services.records import registry_record_push


class RecordPushApi(RegistryApi):
    permission_classes = [scope_required(DepartmentClient.Scope.PUSH)]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistryRecordPushInput"

        source = serializers.ChoiceField(choices=sorted(FEEDS))
        # The feed's columns (INTERCHANGE.md); strings as in a feed, though numbers and
        # true/false are taken too. Checked exactly as a feed row is.
        record = serializers.DictField(child=serializers.JSONField())
        as_of = serializers.DateField(required=False, default=None, allow_null=True)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistryRecordPushOutput"

        source = serializers.CharField()
        outcome = serializers.ChoiceField(choices=["inserted", "updated", "unchanged"])
        batch_id = serializers.IntegerField()

    @extend_schema(
        operation_id="registry_record_push",
        request=InputSerializer,
        responses={201: OutputSerializer, 200: OutputSerializer},
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = registry_record_push(
            client_id=request.user.client_id,
            source=data["source"],
            record=data["record"],
            as_of=data["as_of"],
        )
        return Response(
            self.OutputSerializer(result).data,
            status=status.HTTP_201_CREATED if result.outcome == "inserted" else status.HTTP_200_OK,
        )
