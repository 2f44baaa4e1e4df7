import json

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from enrollment.api.permissions import IsParent
from enrollment.services.subject_access import subject_access_export


class SubjectAccessApi(APIView):
    """Everything the product holds about the signed-in parent's family, as a JSON download."""

    permission_classes = [IsParent]

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT})
    def get(self, request):
        document = subject_access_export(actor=request.user)
        response = HttpResponse(
            json.dumps(document, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
        filename = f"my-enrollment-data-{timezone.localdate():%Y%m%d}.json"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "no-store"
        return response
