import csv
import io
import logging

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from enrollment.api.permissions import IsSchoolStaff
from enrollment.errors import ApplicationError, ErrorCode
from enrollment.exports import safe_cell
from enrollment.selectors import school_applicants, school_for_staff

logger = logging.getLogger("enrollment.downloads")

APPLICANT_COLUMNS = ["ref", "child_name", "decision", "total_points", "preference_rank"]


class SchoolApplicantsCsvApi(APIView):
    """The applications that list this school, with their decisions, as CSV (school staff only)."""

    permission_classes = [IsSchoolStaff]

    class FilterSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)

    @extend_schema(
        parameters=[OpenApiParameter("year", int, required=True)],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request, code: str):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        school = school_for_staff(
            user=request.user, code=code, admission_year=filters.validated_data["year"]
        )
        if school is None:
            raise ApplicationError(ErrorCode.NOT_FOUND, "No such school among yours.", field="code")
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(APPLICANT_COLUMNS)
        for application in school_applicants(school=school):
            decision = application.current_decisions[0] if application.current_decisions else None
            rank = next(p.rank for p in application.preferences.all() if p.school_id == school.id)
            writer.writerow(
                safe_cell(value)
                for value in [
                    application.ref,
                    application.child_name,
                    decision.outcome if decision else "",
                    decision.total_points if decision else "",
                    rank,
                ]
            )
        logger.info(
            "school %s downloaded its applicants list by user %s", school.code, request.user.pk
        )
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{school.code}-applicants.csv"'
        return response
