"""Serializer fields of the education bureau's API."""

from rest_framework import serializers

from registry import idnumber


class IdNumberField(serializers.CharField):
    """An ID number, normalised by `registry.idnumber` (full-width digits, spaces, `x`) or
    refused saying which check failed; the message never repeats the number."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 18)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> str:
        try:
            return idnumber.validate(super().to_internal_value(data))
        except idnumber.InvalidIdNumber as error:
            raise serializers.ValidationError(str(error), code=f"id_{error.code}") from None
