"""A parent's real-name identity over the API: its state, the check, the code.

GET  /api/v1/me/identity/          verified or not, and any code waiting
POST /api/v1/me/identity/          {"name", "id_number", "consent": true}: the registry
                                   check; on a match a code goes to the account's phone
POST /api/v1/me/identity/confirm/  {"code"}: binds the account
POST /api/v1/me/identity/resend/   a new code for the waiting check
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.api.permissions import IsParent
from enrollment.selectors.identity import identity_pending, phone_masked
from enrollment.services.identity import (
    identity_code_confirm,
    identity_code_resend,
    identity_verify_start,
)
from registry.idnumber import mask
from registry.webapi import IdNumberField


class IdentityStateSerializer(serializers.Serializer):
    verified = serializers.BooleanField()
    # Masked, as everywhere; "" until verified.
    id_number = serializers.CharField()
    code_sent_to = serializers.CharField(allow_null=True)
    code_expires_at = serializers.DateTimeField(allow_null=True)


def _state(user) -> dict:
    pending = None if user.is_identity_verified else identity_pending(user=user)
    return {
        "verified": user.is_identity_verified,
        "id_number": mask(user.verified_id_number) if user.is_identity_verified else "",
        "code_sent_to": phone_masked(pending.phone) if pending else None,
        "code_expires_at": pending.code_expires_at if pending else None,
    }


class IdentityApi(APIView):
    permission_classes = [IsParent]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=64)
        id_number = IdNumberField()
        # The account holder's consent to the check against the household registry.
        consent = serializers.BooleanField()

    @extend_schema(responses=IdentityStateSerializer)
    def get(self, request):
        return Response(IdentityStateSerializer(_state(request.user)).data)

    @extend_schema(request=InputSerializer, responses={202: IdentityStateSerializer})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        identity_verify_start(
            actor=request.user,
            name=data["name"],
            id_number=data["id_number"],
            consented=data["consent"],
        )
        return Response(
            IdentityStateSerializer(_state(request.user)).data, status=status.HTTP_202_ACCEPTED
        )


class IdentityConfirmApi(APIView):
    permission_classes = [IsParent]

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=6)

    @extend_schema(request=InputSerializer, responses=IdentityStateSerializer)
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = identity_code_confirm(actor=request.user, code=serializer.validated_data["code"])
        return Response(IdentityStateSerializer(_state(user)).data)


class IdentityResendApi(APIView):
    permission_classes = [IsParent]

    @extend_schema(request=None, responses={202: IdentityStateSerializer})
    def post(self, request):
        identity_code_resend(actor=request.user)
        return Response(
            IdentityStateSerializer(_state(request.user)).data, status=status.HTTP_202_ACCEPTED
        )
