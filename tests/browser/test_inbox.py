"""A parent reads their messages in the portal's inbox, on a phone, and switches them to
English and e-mail."""

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.conftest import HOME
from tests.enrollment.portal.parents.conftest import CHILD, MOTHER, submit
from tests.registry.factories import PropertyRecordFactory, related_family

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-pass-2027"  # the factories' password


def test_the_parent_reads_the_inbox_and_chooses_english_by_email(new_page, district, parent):
    related_family(CHILD, MOTHER, hukou_district_code="440604", registered_on=date(2019, 6, 15))
    PropertyRecordFactory(owner_id_number=MOTHER, share_percent=Decimal("100"), community_code=HOME)
    application = submit(parent=parent, ref="A00000000042")

    watched = new_page()
    page = watched.page
    watched.goto("/accounts/login/")
    page.fill("#id_username", parent.username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="我的消息").click()

    items = page.locator("ul.inbox > li")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("核验结果已出")
    expect(items.first).to_contain_text(f"申请{application.ref}核验完成：符合条件")
    expect(items.nth(1)).to_contain_text(f"申请{application.ref}已收到")
    expect(page.locator(".badge").first).to_have_text("新")
    watched.screenshot("parent-inbox")

    page.get_by_label("消息语言").select_option("en")
    page.get_by_label("仅电子邮件").check()
    page.get_by_label("电子邮箱（可不填）").fill("mother@example.cn")
    page.get_by_role("button", name="保存").click()

    expect(page.locator(".messages")).to_contain_text("通知设置已保存。")
    expect(page.locator(".badge")).to_have_count(0)
    parent.refresh_from_db()
    assert (parent.language, parent.notify_by, parent.email) == (
        "en",
        "email",
        "mother@example.cn",
    )
