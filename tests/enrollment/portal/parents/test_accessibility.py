"""Keyboard and screen-reader basics on the parents' pages: a lang attribute, a skip link to
the main content, a label for every control, one h1, and described live checks."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.enrollment.portal.parents.conftest import CHILD, signed_in

pytestmark = pytest.mark.django_db


class Controls(HTMLParser):
    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.open_labels = 0
        self.h1 = 0
        self.ids: set[str] = set()
        self.links: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "label":
            self.open_labels += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        if tag == "h1":
            self.h1 += 1
        if tag == "a":
            self.links.append(attrs)
        if tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden",):
            self.controls.append({**attrs, "_wrapped": self.open_labels > 0})

    def handle_endtag(self, tag):
        if tag == "label" and self.open_labels:
            self.open_labels -= 1


def _parse(html: str) -> Controls:
    parser = Controls()
    parser.feed(html)
    return parser


@pytest.fixture
def parent_pages(decided, parent):
    client = signed_in(parent)
    return client, [
        reverse("home"),
        reverse("apply-step", args=["child"]),
        reverse("application-detail", args=[decided.ref]),
        reverse("application-lookups", args=[decided.ref]),
    ]


def test_every_control_has_a_label_and_every_page_one_h1_and_a_skip_link(parent_pages):
    client, urls = parent_pages
    for url in urls:
        html = client.get(url).content.decode()
        page = _parse(html)

        unlabelled = [
            c
            for c in page.controls
            if not c["_wrapped"] and c.get("id") not in page.label_for and not c.get("aria-label")
        ]
        assert unlabelled == [], url
        assert page.h1 == 1, url
        assert page.links[0].get("class") == "skip-link", url
        assert page.links[0].get("href") == "#main", url
        assert "main" in page.ids, url
        assert '<html lang="zh-Hans">' in html, url


def test_live_checks_are_announced_and_tied_to_their_field(district, parent):
    client = signed_in(parent)
    client.post(
        reverse("apply-step", args=["child"]), {"child_name": "陈小明", "child_id_number": CHILD}
    )
    page = client.get(reverse("apply-step", args=["guardians"])).content.decode()

    for name in ("guardian1_id_number", "guardian2_id_number"):
        assert f'aria-describedby="id_{name}-check"' in page
        assert f'<p class="live-check" id="id_{name}-check" aria-live="polite">' in page
