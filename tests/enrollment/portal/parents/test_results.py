"""The 录取结果 panel: results and the re-check appear only once a run that concerns the
application is visible to its family; before that the page says when results come."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment.models import Decision, Recheck
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_run_execute,
)
from registry import idnumber
from registry.models import HukouRecord
from tests.enrollment.allocation_helpers import decided_application
from tests.enrollment.portal.parents.conftest import MOTHER, signed_in, submit
from tests.enrollment.portal.parents.test_status import _allocate_and_publish
from tests.registry.factories import HukouRecordFactory

pytestmark = pytest.mark.django_db

NOT_PLACED = "这一轮没有为孩子分配到所选的学校"
PENDING = "录取结果尚未公布。教育局完成学位分配并公布结果后，孩子分到的学校或候补位置会显示在这里。"
PENDING_EN = (
    "Results have not been published yet. Once the education bureau has allocated places and "
    "published the results, the school your child is offered or their place on a waiting list "
    "will be shown here."
)
RECHECK_FORM = 'action="/applications/{ref}/recheck/"'
LATE_CHILD = idnumber.make("440604", date(2020, 6, 6), 771)


def _late_application(parent):
    """A second child of the same mother, applied for after the district's run was published."""
    household = HukouRecord.objects.get(id_number=MOTHER).household_no
    HukouRecordFactory(
        id_number=LATE_CHILD,
        household_no=household,
        hukou_district_code="440604",
        registered_on=date(2021, 1, 1),
    )
    return submit(parent=parent, child=LATE_CHILD, name="陈小华", ref="A0000000LATE")


def test_an_application_made_after_the_published_run_waits_for_results_and_no_recheck(
    decided, parent, officer
):
    # given: the district's run is published, then the family applies for another child
    _allocate_and_publish(officer)
    late = _late_application(parent)
    client = signed_in(parent)

    # when
    body = client.get(reverse("application-detail", args=[late.ref])).content.decode()
    english = (
        signed_in(parent, "en").get(reverse("application-detail", args=[late.ref])).content.decode()
    )

    # then: no "not placed", no empty waiting list, no re-check form; when results come
    assert late.state == "decided"
    assert NOT_PLACED not in body
    assert "候补名单" not in body
    assert RECHECK_FORM.format(ref=late.ref) not in body
    assert PENDING in body
    assert "结果公布后，如对核验结果或积分有异议，可以在这里申请复核。" in body
    assert PENDING_EN in english
    assert "No place at the chosen schools" not in english
    # and a re-check asked for all the same is refused, nothing written
    refused = client.post(
        reverse("application-recheck", args=[late.ref]), {"reason": "积分算错了"}, follow=True
    )
    assert "结果公布后才能申请复核。" in refused.content.decode()
    assert Recheck.objects.count() == 0
    # The child who took part sees the run's result as before.
    placed = client.get(reverse("application-detail", args=[decided.ref])).content.decode()
    assert "接受学位" in placed
    assert PENDING not in placed


def test_before_any_publication_the_page_says_results_are_not_published_yet(decided, parent):
    body = signed_in(parent).get(reverse("application-detail", args=[decided.ref]))

    assert PENDING in body.content.decode()
    assert RECHECK_FORM.format(ref=decided.ref) not in body.content.decode()


def test_under_embargo_the_page_names_the_moment_results_are_shown(decided, parent, officer):
    run = allocation_run_create(
        admission_year=2027, seed=7, actor=officer, district_code="440604", enqueue=False
    )
    visible_from = timezone.localtime(timezone.now() + timedelta(days=2)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    allocation_publish(
        run=allocation_run_execute(run_id=run.pk),
        actor=officer,
        reason="公布第一轮",
        visible_from=visible_from,
    )

    body = signed_in(parent).get(reverse("application-detail", args=[decided.ref]))
    english = signed_in(parent, "en").get(reverse("application-detail", args=[decided.ref]))

    shown = f"{visible_from.year}年{visible_from.month}月{visible_from.day}日 09:00"
    assert f"录取结果将于 {shown} 在这里公布。" in body.content.decode()
    assert "接受学位" not in body.content.decode()
    assert f"Results will be published here on {visible_from:%m/%d/%Y} 9 a.m." in (
        english.content.decode()
    )


def test_an_ineligible_application_left_out_of_the_run_is_told_why_and_may_ask_a_recheck(
    district, parent, officer
):
    ineligible = decided_application(
        policy=district["policy"],
        prefs=["S440604001"],
        parent=parent,
        outcome=Decision.Outcome.INELIGIBLE,
        ref="A0000000INEL",
    )
    _allocate_and_publish(officer)

    body = signed_in(parent).get(reverse("application-detail", args=[ineligible.ref]))
    english = signed_in(parent, "en").get(reverse("application-detail", args=[ineligible.ref]))

    page = body.content.decode()
    assert (
        "孩子没有参加这一轮分配：核验结果为不符合入学条件，原因见上方“结果和积分”。"
        "如果您认为核验结果有误，可以申请复核；复核后符合条件的，会参加下一轮分配。"
    ) in page
    assert NOT_PLACED not in page
    assert "候补名单" not in page
    assert RECHECK_FORM.format(ref=ineligible.ref) in page
    assert (
        "Your child did not take part in this round: the verification found that they do not "
        "meet the admission conditions (see the reasons under “Result and points” above)."
    ) in english.content.decode()
