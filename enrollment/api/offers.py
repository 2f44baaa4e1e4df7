"""Parents: their offers with waiting-list places, answers with receipts, re-check requests."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.api.permissions import IsParent
from enrollment.errors import ApplicationError, ErrorCode
from enrollment.selectors.applications import application_get
from enrollment.selectors.offers import offer_get, offer_list_with_places, waitlist_place_list
from enrollment.services.offers import offer_answer
from enrollment.services.rechecks import recheck_request


class WaitlistPlaceSerializer(serializers.Serializer):
    school_code = serializers.CharField()
    school_name = serializers.CharField()
    position = serializers.IntegerField()
    length = serializers.IntegerField()


class OfferOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ref = serializers.CharField(source="application.ref")
    school_code = serializers.CharField(source="school.code")
    school_name = serializers.CharField(source="school.name")
    round = serializers.IntegerField()
    status = serializers.CharField()
    respond_by = serializers.DateTimeField()
    answered_at = serializers.DateTimeField()
    receipt_no = serializers.CharField(allow_null=True)


class OfferWithWaitlistsSerializer(OfferOutputSerializer):
    waiting_lists = WaitlistPlaceSerializer(many=True)


class ParentOfferListApi(APIView):
    """The parent's offers once published (after the embargo), with the family's place on the
    waiting list of every school it ranked above the offer."""

    permission_classes = [IsParent]

    class FilterSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)

    @extend_schema(
        parameters=[OpenApiParameter("year", int, required=True)],
        responses=OfferWithWaitlistsSerializer(many=True),
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        offers = offer_list_with_places(
            user=request.user, admission_year=filters.validated_data["year"]
        )
        return Response(
            [
                {
                    **OfferOutputSerializer(offer).data,
                    "waiting_lists": WaitlistPlaceSerializer(places, many=True).data,
                }
                for offer, places in offers
            ]
        )


class ParentOfferAnswerApi(APIView):
    """Accept or decline; repeating the same answer returns the same receipt."""

    permission_classes = [IsParent]

    class InputSerializer(serializers.Serializer):
        answer = serializers.ChoiceField(choices=["accept", "decline"])

    @extend_schema(request=InputSerializer, responses=OfferOutputSerializer)
    def post(self, request, offer_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        offer = offer_get(user=request.user, offer_id=offer_id)
        if offer is None:
            raise ApplicationError(ErrorCode.NOT_FOUND, "No such offer.", field="offer")
        offer = offer_answer(
            offer=offer, actor=request.user, answer=serializer.validated_data["answer"]
        )
        return Response(OfferOutputSerializer(offer).data)


class ParentRecheckRequestApi(APIView):
    """Ask for a re-check (复核) of an application's result, with a reason."""

    permission_classes = [IsParent]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=1000)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        ref = serializers.CharField(source="application.ref")
        status = serializers.CharField()
        reason = serializers.CharField()
        requested_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request, ref: str):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = application_get(user=request.user, ref=ref)
        if application is None:
            raise ApplicationError(ErrorCode.NOT_FOUND, "No such application.", field="ref")
        recheck = recheck_request(
            application=application,
            actor=request.user,
            reason=serializer.validated_data["reason"],
        )
        return Response(self.OutputSerializer(recheck).data, status=status.HTTP_201_CREATED)


class ParentWaitlistApi(APIView):
    """Every waiting list the parent's families are on in the latest published round, with
    their place, including families that were offered no place at all."""

    permission_classes = [IsParent]

    class FilterSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)

    class OutputSerializer(WaitlistPlaceSerializer):
        ref = serializers.CharField()

    @extend_schema(
        parameters=[OpenApiParameter("year", int, required=True)],
        responses=OutputSerializer(many=True),
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        places = waitlist_place_list(
            user=request.user, admission_year=filters.validated_data["year"]
        )
        return Response(
            [{"ref": ref, **WaitlistPlaceSerializer(place).data} for ref, place in places]
        )
