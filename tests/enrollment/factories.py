import factory
from factory.django import DjangoModelFactory

from enrollment.models import IdentityVerification, Role, School, User
from enrollment.services.identity import identity_bind


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="zh_CN")
    last_name = factory.Faker("last_name", locale="zh_CN")
    role = Role.PARENT
    password = factory.django.Password("demo-pass-2027")
    phone = factory.Sequence(lambda n: f"139{n:08d}")

    class Params:
        officer = factory.Trait(role=Role.OFFICER, district_code="440604")

    @factory.post_generation
    def identity(obj, create, extracted, **kwargs):
        """`UserFactory(identity=ID_NUMBER)`: a parent who has verified their real-name
        identity, bound through `identity_bind`, the step that completes the registry check
        and the code (tests/enrollment/test_identity.py runs those two steps themselves)."""
        if create and extracted and obj.verified_id_number != extracted:
            identity_bind(
                actor=obj,
                id_number=extracted,
                name=f"{obj.last_name}{obj.first_name}",
                method=IdentityVerification.Method.SMS_OTP,
            )


class SchoolFactory(DjangoModelFactory):
    class Meta:
        model = School

    code = factory.Sequence(lambda n: f"S440604{n + 100:03d}")
    admission_year = 2027
    # A school's name as a parent reads it on the result page and in the screenshots.
    name = factory.Sequence(lambda n: f"禅城区第{n + 1}实验小学")
    district_code = "440604"
    kind = School.Kind.PUBLIC
    grade = "primary1"
    capacity = 45
    catchment_communities = factory.List(["440604010003"])
    address = factory.Faker("street_address", locale="zh_CN")
