"""Answering an offer takes two steps: the first tap shows the school and what follows, and
only the confirmed answer changes anything."""

import pytest
from django.urls import reverse

from enrollment.models import AuditLog, Offer
from tests.enrollment.portal.parents.conftest import signed_in
from tests.enrollment.portal.parents.test_status import _allocate_and_publish
from tests.enrollment.services.test_offers import published  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def _answer_url(offer: Offer) -> str:
    return reverse("application-offer-answer", args=[offer.application.ref, offer.pk])


def _nothing_written(offer: Offer) -> None:
    offer.refresh_from_db()
    assert (offer.status, offer.answered_at, offer.answered_by, offer.receipt_no) == (
        "offered",
        None,
        None,
        None,
    )
    assert not AuditLog.objects.filter(action__startswith="offer.").exists()


def test_the_first_tap_on_accept_names_the_school_and_the_waiting_lists_kept_and_writes_nothing(
    published,  # noqa: F811
    parent,
):
    # given: the parent's child is offered 第二 school and waits first on its first choice
    offer = published["offer"]
    first_choice = Offer.objects.get(application__ref="H001").school

    # when
    response = signed_in(parent).post(_answer_url(offer), {"answer": "accept"})

    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>确认接受学位</h1>" in body
    assert f"您将接受 {offer.school.name} 的学位。接受后请按学校通知按时报到。" in body
    assert (
        "接受不会放弃候补：孩子在下列学校候补名单上的位置仍然保留；如果后续轮次递补成功，"
        "孩子将改为分配到那所学校，这个学位随之释放。"
    ) in body
    assert f"<li>{first_choice.name}：候补第 1 位</li>" in body
    assert '<input type="hidden" name="confirmed" value="yes">' in body
    assert '<button type="submit" class="primary">确认接受</button>' in body
    _nothing_written(offer)


def test_the_first_tap_on_decline_says_the_place_goes_to_the_next_child_in_english_too(
    published,  # noqa: F811
    parent,
):
    offer = published["offer"]

    chinese = signed_in(parent).post(_answer_url(offer), {"answer": "decline"})
    english = signed_in(parent, "en").post(_answer_url(offer), {"answer": "decline"})

    assert (
        f"您将放弃 {offer.school.name} 的学位。放弃后，这个学位会分配给下一位孩子，无法撤回。"
    ) in chinese.content.decode()
    assert "孩子在下列学校候补名单上的位置仍然保留：" in chinese.content.decode()
    assert '<button type="submit" class="danger">确认放弃</button>' in chinese.content.decode()
    assert (
        f"You are about to decline the place at {offer.school.name}. Once declined, the place "
        "goes to the next child and cannot be taken back."
    ) in english.content.decode()
    assert "Yes, decline the place" in english.content.decode()
    _nothing_written(offer)


def test_the_confirmed_answer_is_recorded_with_its_receipt(published, parent):  # noqa: F811
    offer = published["offer"]
    client = signed_in(parent)

    response = client.post(_answer_url(offer), {"answer": "decline", "confirmed": "yes"})

    offer.refresh_from_db()
    assert response.status_code == 302
    assert (offer.status, offer.answered_by) == ("declined", parent)
    assert AuditLog.objects.filter(action="offer.decline", actor=parent).count() == 1
    page = client.get(response["Location"]).content.decode()
    assert f"您已放弃这个学位。回执号 {offer.receipt_no}。" in page


def test_declining_a_first_choice_says_no_later_round_will_offer_a_place(decided, parent, officer):
    _allocate_and_publish(officer)
    offer = Offer.objects.get(application=decided)

    response = signed_in(parent).post(_answer_url(offer), {"answer": "decline"})

    body = response.content.decode()
    assert "放弃后，后续轮次也不会再为孩子分配学位。" in body
    assert "候补名单上的位置仍然保留" not in body
    _nothing_written(offer)
