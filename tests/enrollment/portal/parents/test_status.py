"""The status page: live verification with sources, points line by line, evidence, the offer,
waiting lists, re-checks, and who looked at the family's data."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from enrollment.models import (
    AuditLog,
    Evidence,
    Offer,
    Recheck,
)
from enrollment.services.allocation import (
    allocation_publish,
    allocation_run_create,
    allocation_run_execute,
)
from registry import idnumber
from registry.services.audit import AuditItem, audit_append
from registry.services.clients import department_client_create
from tests.conftest import HOME
from tests.enrollment.portal.parents.conftest import (
    CHILD,
    MOTHER,
    OTHER_MOTHER,
    signed_in,
    submit,
)
from tests.registry.factories import PropertyRecordFactory, related_family

pytestmark = pytest.mark.django_db


def test_status_shows_each_fact_with_its_source_and_the_points_line_by_line(parent, decided):
    body = signed_in(parent).get(reverse("application-detail", args=[decided.ref])).content.decode()

    # Facts, each with the department and the record's date behind it.
    assert "本区户籍，户籍登记日期 2019年6月15日" in body
    assert "监护人在所填社区共同拥有住房 100% 产权" in body
    assert "公安部门 · 户籍登记 · 数据截至 2027年3月1日" in body
    assert "住建部门 · 不动产登记 · 数据截至 2027年3月1日" in body
    # The points, each line with the rule behind it (DOMAIN.md worked example 1).
    assert "基础分：本区户籍 + 自有住房" in body
    assert "积分办法 2027.1 基础分表第 1 行" in body
    assert '<td class="num">100</td>' in body
    assert "居住年限加分：户籍登记满 93 个月" in body
    assert "积分办法 2027.1：本区户籍每月 0.1 分，最多 10.0 分" in body
    assert '<td class="num">9.3</td>' in body
    assert "总分 109.3 分" in body
    # Masked everywhere.
    assert idnumber.mask(CHILD) in body
    assert CHILD not in body
    assert MOTHER not in body
    # Decided: no more polling.
    assert 'hx-trigger="every 2s"' not in body


def test_while_verifying_the_panel_polls_every_two_seconds_and_reloads_when_done(
    district, parent, registry_example_1
):
    from enrollment.services.applications import (
        ApplicationInput,
        PersonInput,
        application_submit,
    )
    from enrollment.services.verification import verification_run

    application = application_submit(
        data=ApplicationInput(
            admission_year=2027,
            child=PersonInput(name="陈小明", id_number=CHILD),
            guardians=[PersonInput(name="李美玲", id_number=MOTHER, relation="mother")],
            home_community_code=HOME,
            preferences=["S440604001"],
            consent_given_by=MOTHER,
        ),
        actor=parent,
        enqueue=False,
    )
    client = signed_in(parent)
    live_url = reverse("application-live", args=[application.ref])

    waiting = client.get(live_url, HTTP_HX_REQUEST="true")
    assert (
        f'hx-get="{live_url}" hx-trigger="every 2s" hx-swap="outerHTML"' in waiting.content.decode()
    )
    assert "正在向公安部门核验…" in waiting.content.decode()
    assert "HX-Refresh" not in waiting

    verification_run(job_ids=list(application.verification_jobs.values_list("id", flat=True)))
    done = client.get(live_url, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    assert 'hx-trigger="every 2s"' not in done.content.decode()
    assert "已核实" in done.content.decode()


def test_missing_hukou_offers_evidence_and_a_commitment_is_recorded(district, parent):
    # The registry knows the mother's flat but not the child: needs_review.
    PropertyRecordFactory(owner_id_number=MOTHER, share_percent=Decimal("100"), community_code=HOME)
    application = submit(parent=parent, ref="A0000000MISS")
    assert application.state == "needs_review"
    client = signed_in(parent)
    page = client.get(reverse("application-detail", args=[application.ref])).content.decode()
    assert "数据库中没有查到孩子的户籍" in page
    assert 'name="kind" value="commitment"' in page

    response = client.post(
        reverse("application-evidence", args=[application.ref]),
        {"fact": "hukou", "kind": "commitment", "statement": "孩子户籍在禅城区，承诺属实。"},
    )

    assert response.status_code == 302
    evidence = Evidence.objects.get()
    assert (evidence.application_id, evidence.fact, evidence.kind, evidence.submitted_by) == (
        application.id,
        "hukou",
        "commitment",
        parent,
    )
    assert AuditLog.objects.filter(action="evidence.submit", actor=parent).count() == 1
    after = client.get(response["Location"]).content.decode()
    assert "材料已提交，工作人员审核后会更新结果。" in after
    assert "告知承诺" in after


def test_an_upload_that_is_not_a_document_is_refused_in_plain_words(district, parent):
    PropertyRecordFactory(owner_id_number=MOTHER, share_percent=Decimal("100"), community_code=HOME)
    application = submit(parent=parent, ref="A0000000UPLD")
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = signed_in(parent).post(
        reverse("application-evidence", args=[application.ref]),
        {
            "fact": "hukou",
            "kind": "upload",
            "file": SimpleUploadedFile("a.pdf", b"MZ not a pdf", content_type="application/pdf"),
        },
        follow=True,
    )

    assert "只能上传 PDF、JPG 或 PNG 文件，且不超过 5 MB。" in response.content.decode()
    assert Evidence.objects.count() == 0


def _allocate_and_publish(officer):
    run = allocation_run_create(
        admission_year=2027, seed=7, actor=officer, district_code="440604", enqueue=False
    )
    run = allocation_run_execute(run_id=run.pk)
    return allocation_publish(run=run, actor=officer, reason="公布第一轮")


def test_published_offer_is_accepted_with_a_receipt_and_waiting_lists_are_shown(
    district, parent, other_parent, officer, registry_example_1
):
    # The parent's child has 109.3 points; three families in the catchment have fewer, for a
    # school of two places: one is placed with the parent's child, two wait.
    application = submit(parent=parent, ref="A0000000OFFR")
    registered = [date(2025, 1, 1), date(2026, 1, 1), date(2026, 6, 1)]
    for index, day in enumerate(registered):
        child = idnumber.make("440604", date(2020, 5, 1), 600 + index)
        # the other parent applies naming themselves; the two others come from the counter
        mother = (
            OTHER_MOTHER if index == 2 else idnumber.make("440604", date(1990, 1, 1), 700 + index)
        )
        related_family(child, mother, registered_on=day)
        PropertyRecordFactory(owner_id_number=mother, community_code=HOME)
        submit(
            parent=other_parent if index == 2 else None,
            child=child,
            guardian=mother,
            name=f"孩子{index}",
            ref=f"A00000000{index}X",
        )
    _allocate_and_publish(officer)
    client = signed_in(parent)

    page = client.get(reverse("application-detail", args=[application.ref])).content.decode()
    assert "接受学位" in page
    offer = Offer.objects.get(application=application)
    response = client.post(
        reverse("application-offer-answer", args=[application.ref, offer.pk]),
        {"answer": "accept", "confirmed": "yes"},
        follow=True,
    )

    offer.refresh_from_db()
    assert (offer.status, offer.answered_by) == ("accepted", parent)
    home = client.get(reverse("home")).content.decode()
    assert (
        f'<span class="badge offer-accepted">已接受</span> <span>{offer.school.name}</span>' in home
    )
    assert f"您已接受学位。回执号 {offer.receipt_no}" in response.content.decode()
    assert AuditLog.objects.filter(action="offer.accept", actor=parent).count() == 1
    # The other family sees no offer and its place on the waiting list.
    waiting = signed_in(other_parent).get(reverse("application-detail", args=["A000000002X"]))
    body = waiting.content.decode()
    assert "这一轮没有为孩子分配到所选的学校" in body
    assert f"{district['school'].name}：候补第 2 位" in body
    # Answering another family's offer is a 404 and changes nothing.
    refused = signed_in(other_parent).post(
        reverse("application-offer-answer", args=[application.ref, offer.pk]),
        {"answer": "decline"},
    )
    assert refused.status_code == 404
    offer.refresh_from_db()
    assert offer.status == "accepted"


def test_recheck_is_requested_after_publication_once(district, parent, officer, registry_example_1):
    application = submit(parent=parent, ref="A0000000RCHK")
    client = signed_in(parent)
    url = reverse("application-recheck", args=[application.ref])

    early = client.post(url, {"reason": "积分算错了"}, follow=True)
    assert "结果公布后才能申请复核。" in early.content.decode()
    assert Recheck.objects.count() == 0

    _allocate_and_publish(officer)
    first = client.post(url, {"reason": "住房份额应为 100%"}, follow=True)
    second = client.post(url, {"reason": "再次申请"}, follow=True)

    assert "复核申请已提交" in first.content.decode()
    assert "您已经申请过复核，正在处理中。" not in first.content.decode()
    recheck = Recheck.objects.get()
    assert (recheck.application_id, recheck.reason, recheck.status) == (
        application.id,
        "住房份额应为 100%",
        "open",
    )
    assert Recheck.objects.count() == 1
    assert second.status_code == 200


def test_who_looked_at_my_data_lists_each_registry_query_with_purpose_and_time(parent, decided):
    body = (
        signed_in(parent).get(reverse("application-lookups", args=[decided.ref])).content.decode()
    )

    assert body.count("<tr>") == 2  # the header and the one lookup
    assert "区教育局入学申请系统" in body
    assert "小学一年级入学资格核验" in body
    assert decided.consent.reference in body
    assert "已答复" in body
    assert CHILD not in body


def test_who_looked_names_another_department_as_the_data_bureau_registered_it(parent, decided):
    department_client_create(
        client_id="hr-440604", name="禅城区人力资源和社会保障局", scopes=["verify"]
    )
    for client_id in ("hr-440604", "unregistered-1"):
        audit_append(
            items=[
                AuditItem(
                    client_id=client_id,
                    end_user="counter",
                    purpose="resident-services-check",
                    consent_reference="C-99",
                    outcome="answered",
                    question={"who": "mother"},
                    answer={},
                    subjects=[MOTHER],
                )
            ]
        )

    body = (
        signed_in(parent).get(reverse("application-lookups", args=[decided.ref])).content.decode()
    )

    assert body.count("<tr>") == 4
    assert '禅城区人力资源和社会保障局<br><span class="help">hr-440604</span>' in body
    assert 'unregistered-1<br><span class="help">unregistered-1</span>' in body


def test_declining_the_offer_records_it_and_a_second_different_answer_is_refused(
    district, parent, officer, registry_example_1
):
    application = submit(parent=parent, ref="A0000000DECL")
    _allocate_and_publish(officer)
    offer = Offer.objects.get(application=application)
    client = signed_in(parent)
    url = reverse("application-offer-answer", args=[application.ref, offer.pk])

    declined = client.post(url, {"answer": "decline", "confirmed": "yes"}, follow=True)
    again = client.post(url, {"answer": "accept", "confirmed": "yes"}, follow=True)

    offer.refresh_from_db()
    assert (offer.status, offer.answered_by) == ("declined", parent)
    assert f"您已放弃这个学位。回执号 {offer.receipt_no}。" in declined.content.decode()
    assert "这个学位已经答复过，不能更改。" in again.content.decode()
    assert AuditLog.objects.filter(action__startswith="offer.").count() == 1


def test_an_uploaded_document_is_kept_and_only_its_family_can_download_it(
    district, parent, other_parent
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    PropertyRecordFactory(owner_id_number=MOTHER, share_percent=Decimal("100"), community_code=HOME)
    application = submit(parent=parent, ref="A0000000PNG1")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    client = signed_in(parent)

    client.post(
        reverse("application-evidence", args=[application.ref]),
        {
            "fact": "hukou",
            "kind": "upload",
            "file": SimpleUploadedFile("booklet.png", png, content_type="image/png"),
        },
    )

    evidence = Evidence.objects.get()
    assert (evidence.content_type, evidence.size, evidence.kind) == ("image/png", 40, "upload")
    url = reverse("application-evidence-file", args=[application.ref, evidence.pk])
    download = client.get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == png
    assert download["Content-Disposition"].startswith("attachment")
    assert signed_in(other_parent).get(url).status_code == 404
