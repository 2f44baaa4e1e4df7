"""Fixtures of the stewards' pages: a data steward, signed in through the product's login."""

import pytest

from enrollment.models import Role
from tests.enrollment.factories import UserFactory


@pytest.fixture
def steward(db):
    return UserFactory(role=Role.STEWARD, username="steward1")
