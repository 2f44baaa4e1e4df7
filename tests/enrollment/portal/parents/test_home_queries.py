"""The parent's home page asks the same number of queries however many applications it lists:
each row's relation check (decision_withheld) reads what the page prefetched."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry import idnumber
from tests.enrollment.portal.parents.conftest import MOTHER, signed_in, submit
from tests.registry.factories import related_family

pytestmark = pytest.mark.django_db


def _home_queries(parent) -> int:
    client = signed_in(parent)
    client.get(reverse("home"))  # the session and the caches warmed
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    return len(queries)


def test_the_home_page_reads_no_more_for_more_applications(district, parent):
    children = [idnumber.make("440604", date(2020, 3, day), 101) for day in (10, 11, 12)]
    related_family(children[0], MOTHER)
    for child in children[1:]:
        related_family(child)  # no adult in the child's household
    submit(parent=parent, child=children[0], ref="A0000000HOM1")
    one = _home_queries(parent)

    # Two more children whose mother the registry does not show in their household: their
    # rows are withheld, which is what reads evidence.
    for n, child in enumerate(children[1:], start=2):
        submit(parent=parent, child=child, ref=f"A0000000HOM{n}")

    assert _home_queries(parent) == one
