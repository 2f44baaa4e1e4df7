from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.api.permissions import IsOfficer
from enrollment.selectors.applications import decision_list


class OfficerDecisionListApi(APIView):
    """Current decisions of the officer's own district for one admission year."""

    permission_classes = [IsOfficer]

    class FilterSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)

    class OutputSerializer(serializers.Serializer):
        ref = serializers.CharField(source="application.ref")
        state = serializers.CharField(source="application.state")
        outcome = serializers.CharField()
        hukou_class = serializers.CharField()
        housing_class = serializers.CharField()
        total_points = serializers.DecimalField(max_digits=6, decimal_places=1)
        reasons = serializers.ListField(child=serializers.CharField())
        policy_version = serializers.CharField(source="policy.version")

    @extend_schema(
        parameters=[OpenApiParameter("year", int, required=True)],
        responses=OutputSerializer(many=True),
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        decisions = decision_list(user=request.user, admission_year=filters.validated_data["year"])
        return Response(self.OutputSerializer(decisions, many=True).data)
