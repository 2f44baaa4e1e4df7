import csv
import io
import logging

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.api.permissions import IsOfficer, IsSchoolStaff
from enrollment.errors import ApplicationError, ErrorCode
from enrollment.exports import safe_cell
from enrollment.models import Offer, School
from enrollment.selectors.schools import school_applicants, school_get, staff_school_get
from enrollment.services.exports import admitted_export, download_denied_log
from enrollment.services.offers import offer_mark_enrolment, offers_close_enrolment
from enrollment.services.schools import school_update

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
        school = staff_school_get(
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


class SchoolAdmittedApi(APIView):
    """The school's own admitted list as CSV or XLSX. Anyone but the school's staff gets 404,
    and the refusal is logged as well as every download."""

    CONTENT_TYPES = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }

    class FilterSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)

    @extend_schema(
        parameters=[OpenApiParameter("year", int, required=True)],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
        },
    )
    def get(self, request, code: str, fmt: str):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        year = filters.validated_data["year"]
        school = staff_school_get(user=request.user, code=code, admission_year=year)
        if school is None:
            download_denied_log(actor=request.user, school_code=code, admission_year=year, fmt=fmt)
            logger.warning(
                "denied admitted list of school %s (%s) to user %s", code, fmt, request.user.pk
            )
            raise ApplicationError(ErrorCode.NOT_FOUND, "No such school among yours.", field="code")
        content, rows = admitted_export(school=school, fmt=fmt, actor=request.user)
        logger.info(
            "school %s downloaded its admitted list (%s, %d rows) by user %s",
            school.code,
            fmt,
            rows,
            request.user.pk,
        )
        response = HttpResponse(content, content_type=self.CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{school.code}-admitted.{fmt}"'
        return response


class SchoolEnrolmentApi(APIView):
    """The school marks whether an admitted child enrolled (报到): enrolled or no_show."""

    permission_classes = [IsSchoolStaff]

    class InputSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)
        ref = serializers.CharField(max_length=32)
        enrolment = serializers.ChoiceField(choices=Offer.Enrolment.values)
        reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    class OutputSerializer(serializers.Serializer):
        ref = serializers.CharField(source="application.ref")
        school_code = serializers.CharField(source="school.code")
        status = serializers.CharField()
        enrolment = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request, code: str):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        school = staff_school_get(user=request.user, code=code, admission_year=data["year"])
        if school is None:
            raise ApplicationError(ErrorCode.NOT_FOUND, "No such school among yours.", field="code")
        offer = offer_mark_enrolment(
            school=school,
            actor=request.user,
            ref=data["ref"],
            enrolment=data["enrolment"],
            reason=data["reason"],
        )
        return Response(self.OutputSerializer(offer).data)


class SchoolEnrolmentCloseApi(APIView):
    """The school closes 报到: every admitted child not marked enrolled becomes no_show."""

    permission_classes = [IsSchoolStaff]

    class InputSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)
        reason = serializers.CharField(max_length=500)

    @extend_schema(request=InputSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, code: str):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        school = staff_school_get(user=request.user, code=code, admission_year=data["year"])
        if school is None:
            raise ApplicationError(ErrorCode.NOT_FOUND, "No such school among yours.", field="code")
        count = offers_close_enrolment(school=school, actor=request.user, reason=data["reason"])
        return Response({"no_show": count})


class OfficerSchoolUpdateApi(APIView):
    """An officer edits a school of their own district; the reason goes to the audit log."""

    permission_classes = [IsOfficer]

    class InputSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)
        reason = serializers.CharField(max_length=500)
        name = serializers.CharField(max_length=128, required=False)
        kind = serializers.ChoiceField(choices=School.Kind.values, required=False)
        capacity = serializers.IntegerField(min_value=0, max_value=100000, required=False)
        catchment_communities = serializers.ListField(
            child=serializers.CharField(max_length=12), required=False
        )
        address = serializers.CharField(max_length=255, required=False, allow_blank=True)
        lat = serializers.DecimalField(
            max_digits=9, decimal_places=6, required=False, allow_null=True
        )
        lon = serializers.DecimalField(
            max_digits=9, decimal_places=6, required=False, allow_null=True
        )

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        admission_year = serializers.IntegerField()
        name = serializers.CharField()
        district_code = serializers.CharField()
        kind = serializers.CharField()
        capacity = serializers.IntegerField()
        catchment_communities = serializers.ListField(child=serializers.CharField())
        address = serializers.CharField()
        lat = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
        lon = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def patch(self, request, code: str):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        year, reason = data.pop("year"), data.pop("reason")
        school = school_get(user=request.user, code=code, admission_year=year)
        if school is None:
            raise ApplicationError(
                ErrorCode.NOT_FOUND, "No such school in your district.", field="code"
            )
        school = school_update(school=school, actor=request.user, reason=reason, changes=data)
        return Response(self.OutputSerializer(school).data)
