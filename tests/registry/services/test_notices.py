"""A failed load tells every steward once, on their page and by e-mail; a good load tells
nobody; a notice names the batch and its diagnosis, never an ID number."""

import re
from datetime import date

import pytest
from django.core import mail

from enrollment.models import Role
from registry import idnumber
from registry.loading.imports import registry_import_file
from registry.loading.report import ImportFailed
from registry.models import ImportBatch, StewardNotice
from registry.stewards.presentation import notice_sentence
from tests.enrollment.factories import UserFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "id_number,name,sex,birth_date,hukou_district_code,community_code,address,"
    "registered_on,household_no"
)
ID_NUMBER = re.compile(r"\d{17}[\dXx]")


def person(sequence: int, *, sex: str = "M") -> str:
    number = idnumber.make("440604", date(1990, 7, 1), sequence)
    return f"{number},陈{sequence},{sex},1990-07-01,440604,440604010003,,2020-04-01,H{sequence}"


def write(path, lines):
    path.write_bytes(("\n".join(lines) + "\n").encode())
    return path


@pytest.fixture
def stewards(db):
    return [
        UserFactory(role=Role.STEWARD, username="steward1", email="s1@example.cn"),
        UserFactory(role=Role.STEWARD, username="steward2", email=""),
        UserFactory(role=Role.STEWARD, username="gone", email="s3@example.cn", is_active=False),
        UserFactory(
            role=Role.OFFICER, username="officer1", email="o@example.cn", district_code="440604"
        ),
    ]


def test_a_failed_load_writes_one_notice_per_steward_and_mails_those_with_an_address(
    tmp_path, stewards, django_capture_on_commit_callbacks
):
    # given a file whose every row is refused, named after a person's ID number
    number = idnumber.make("440604", date(1990, 7, 1), 1)
    feed = write(tmp_path / "hukou.csv", [HEADER, *(person(n, sex="3") for n in range(1, 5))])

    # when
    with django_capture_on_commit_callbacks(execute=True):
        report = registry_import_file(
            source="hukou", path=feed, as_of=date(2027, 3, 1), file_name=f"{number}.csv"
        )

    # then
    notices = StewardNotice.objects.order_by("steward__username")
    assert [(n.steward.username, n.batch_id) for n in notices] == [
        ("steward1", report.batch_id),
        ("steward2", report.batch_id),
    ]
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["s1@example.cn"], f"数据导入失败：批次 #{report.batch_id}")
    ]
    sentence = notice_sentence(ImportBatch.objects.get(pk=report.batch_id))
    assert mail.outbox[0].body == sentence
    assert sentence == (
        "户籍信息（公安部门） 文件 440604********0019.csv 导入失败，未写入任何数据。"
        "读取的 4 行中，有 4 行因同一原因被拒收：性别（sex）：只能是 M 或 F"
    )
    assert number not in sentence
    assert not ID_NUMBER.search(sentence)
    assert notices[0].emailed_at is not None
    assert notices[1].emailed_at is None


def test_the_mail_task_run_twice_sends_each_mail_once(
    tmp_path, stewards, django_capture_on_commit_callbacks
):
    from registry.stewards.notices import steward_notices_mail

    feed = write(tmp_path / "hukou.csv", [HEADER])
    with django_capture_on_commit_callbacks(execute=True):
        report = registry_import_file(source="hukou", path=feed, as_of=date(2027, 3, 1))

    assert steward_notices_mail(batch_id=report.batch_id) == 0
    assert len(mail.outbox) == 1


def test_an_unreadable_file_writes_notices_too(tmp_path, stewards):
    feed = tmp_path / "hukou.csv"
    feed.write_bytes((HEADER + "\n").encode() + "陈".encode("gbk") + b",x\n")

    with pytest.raises(ImportFailed):
        registry_import_file(
            source="hukou", path=feed, as_of=date(2027, 3, 1), encoding="utf-8", method="orm"
        )

    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.FAILED
    assert notice_sentence(batch) == (
        "户籍信息（公安部门） 文件 hukou.csv 导入失败，未写入任何数据。"
        "hukou.csv is not utf-8 text (line 2; try --encoding)"
    )
    assert StewardNotice.objects.filter(batch=batch).count() == 2


def test_a_successful_load_writes_no_notice(tmp_path, stewards, django_capture_on_commit_callbacks):
    feed = write(tmp_path / "hukou.csv", [HEADER, person(1), person(2)])

    with django_capture_on_commit_callbacks(execute=True):
        report = registry_import_file(source="hukou", path=feed, as_of=date(2027, 3, 1))

    assert not report.failed
    assert StewardNotice.objects.count() == 0
    assert mail.outbox == []
