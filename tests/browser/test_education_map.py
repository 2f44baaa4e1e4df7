"""教育一张图 in a real browser: an officer picks 2029 on a phone and on a desktop, sees which
catchments lack places, taps a school for the figure behind it, and downloads the numbers."""

import re

import pytest
from playwright.sync_api import expect

from tests.enrollment.forecast_support import mapped_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-pass-2027"  # the factories' password


def _sign_in(watched, username: str) -> None:
    watched.goto("/accounts/login/")
    watched.page.fill("#id_username", username)
    watched.page.fill("#id_password", PASSWORD)
    watched.page.get_by_role("button", name="登录").click()


def test_an_officer_picks_2029_sees_the_short_catchments_and_why(new_page, officer):
    mapped_district()
    watched = new_page()
    page = watched.page
    _sign_in(watched, officer.username)

    watched.goto("/staff/officer/")
    page.get_by_role("link", name="教育一张图").click()
    page.select_option("#map-for", "2029")
    page.get_by_role("button", name="查看").click()

    expect(page.get_by_role("heading", name="2029 年各校预测")).to_be_visible()
    expect(page.locator("svg.map")).to_be_visible()
    expect(page.locator("svg.map .map-area")).to_have_count(5)
    expect(page.locator("svg.map .map-school")).to_have_count(3)
    # At phone width nothing runs off the side of the page.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    watched.screenshot("officer-map")

    # A tap on a school's dot leads to its row, which says how its figure is made.
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator('a[href="#school-S440604001"]').click()
    expect(page).to_have_url(re.compile(r"#school-S440604001$"))
    row = page.locator("#school-S440604001")
    expect(row).to_be_in_viewport()
    expect(row).to_contain_text("2029 年预测 6 人 = 适龄户籍儿童 5 人 × 入学率 1.1429")
    expect(row).to_contain_text("学位 5 个，缺口 1 个")

    with page.expect_download() as download:
        page.get_by_role("link", name="下载各校预测（CSV）").click()
    assert download.value.suggested_filename == "forecast-440604-2027.csv"


def test_the_map_coloured_by_children_at_desktop_width(new_page, officer):
    mapped_district()
    watched = new_page()
    page = watched.page
    page.set_viewport_size({"width": 1280, "height": 800})
    _sign_in(watched, officer.username)

    watched.goto("/staff/officer/map/?year=2027&for=2029&colour=children")

    expect(page.locator("svg.map .map-area.kids-hidden")).to_have_count(1)
    expect(page.locator(".chart-legend")).to_contain_text("少于 3 人，不公开")
    # The map and the table stand side by side at desktop width.
    figure = page.locator(".map-figure").bounding_box()
    table = page.locator(".map-table").bounding_box()
    assert table["x"] > figure["x"] + figure["width"] - 1
    watched.screenshot("officer-map-children")
