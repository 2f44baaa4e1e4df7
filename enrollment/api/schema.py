from drf_spectacular.openapi import AutoSchema


class ProductAutoSchema(AutoSchema):
    """Names nested serializers after the API they belong to.

    Views keep their serializers nested (`ApplicationSubmitApi.InputSerializer`), so the plain
    class name would give every view a component called "Input"; the outer class tells them
    apart: `ApplicationSubmitInput`.
    """

    def get_serializer_name(self, serializer, direction):
        qualname = type(serializer).__qualname__
        if "." not in qualname:
            return super().get_serializer_name(serializer, direction)
        outer, inner = qualname.split(".")[-2:]
        for suffix in ("Api", "View"):
            if outer.endswith(suffix):
                outer = outer[: -len(suffix)]
        return outer + inner
