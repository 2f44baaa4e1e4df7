"""The words of every message, in the recipient's language.

Short enough for one text message: at most 70 characters in Chinese (one SMS segment of
UCS-2), at most 160 in English (one of GSM-7); tests/enrollment/services/test_notification_texts.py
renders every event in both languages with a long school name. A message names the
application by its reference, the school and the points, never an ID number or anything
about another family.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from enrollment.models import NotificationEvent as Event

# A Chinese SMS of more characters is split in two and billed twice.
SMS_MAX_CHINESE = 70
SMS_MAX_LATIN = 160

# event -> (subject, body); placeholders: ref, total, school, deadline, round, fact, count.
# Variants of one event (an ineligible decision, a re-check changed) have their own keys.
_TEXTS = {
    Event.RECEIVED: (
        N_("申请已收到"),
        N_("申请%(ref)s已收到，正在向数据平台核验，有结果会通知您。"),
    ),
    Event.DECIDED: (
        N_("核验结果已出"),
        N_("申请%(ref)s核验完成：符合条件，积分%(total)s分。详情请登录查看。"),
    ),
    "decided_ineligible": (
        N_("核验结果已出"),
        N_("申请%(ref)s核验完成：不符合条件。原因请登录查看。"),
    ),
    Event.NEEDS_REVIEW: (
        N_("请补充材料"),
        N_("申请%(ref)s需补充证明材料或签署告知承诺，请登录办理。"),
    ),
    Event.EVIDENCE_ACCEPTED: (
        N_("材料已采纳"),
        N_("申请%(ref)s：您提交的%(fact)s材料已采纳。"),
    ),
    Event.EVIDENCE_REJECTED: (
        N_("材料未采纳"),
        N_("申请%(ref)s：您提交的%(fact)s材料未采纳，原因请登录查看。"),
    ),
    Event.OFFER_MADE: (
        N_("获得学位"),
        N_("申请%(ref)s获%(school)s学位，请于%(deadline)s前登录答复。"),
    ),
    Event.OFFER_REMINDER_48H: (
        N_("请答复学位"),
        N_("提醒：申请%(ref)s的学位将于%(deadline)s截止答复，请登录答复。"),
    ),
    Event.OFFER_REMINDER_12H: (
        N_("学位即将截止"),
        N_("申请%(ref)s的学位%(deadline)s截止答复，逾期视为放弃，请立即答复。"),
    ),
    Event.OFFER_EXPIRED: (
        N_("学位已逾期"),
        N_("申请%(ref)s的%(school)s学位逾期未答复，已释放。"),
    ),
    Event.WAITLIST_OFFER: (
        N_("候补获得学位"),
        N_("申请%(ref)s第%(round)s轮候补获%(school)s学位，请于%(deadline)s前答复。"),
    ),
    Event.RECHECK_ANSWERED: (
        N_("复核已答复"),
        N_("申请%(ref)s的复核已答复：维持原结果。详情请登录查看。"),
    ),
    "recheck_changed": (
        N_("复核已答复"),
        N_("申请%(ref)s的复核已答复：结果已更正。详情请登录查看。"),
    ),
    Event.ENROLLED: (
        N_("报到已确认"),
        N_("%(school)s已确认申请%(ref)s报到，欢迎入学。"),
    ),
    Event.REVIEW_DIGEST: (
        N_("待审核案件日报"),
        N_("您所在区今日待审核案件%(count)s件，请登录处理。"),
    ),
}


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def deadline_label(moment: datetime) -> str:
    """A deadline in local time, as the active language writes a date."""
    local = timezone.localtime(moment)
    if translation.get_language() == "en":
        return f"{local.day} {local:%b} {local:%H:%M}"
    return f"{local.month}月{local.day}日{local:%H:%M}"


class Renderer:
    """Renders one event's text for many recipients, translating the template once per
    language: a publication of 200,000 offers formats strings, it does not look up
    translations 200,000 times."""

    def __init__(self, variant: str):
        self.variant = variant
        self._templates: dict[str, tuple[str, str]] = {}

    def _template(self, language: str) -> tuple[str, str]:
        if language not in self._templates:
            subject, body = _TEXTS[self.variant]
            with translation.override(language):
                self._templates[language] = (_(subject), _(body))
        return self._templates[language]

    def render(self, language: str, **params) -> Text:
        subject, body = self._template(language)
        with translation.override(language):
            for name, value in params.items():
                if isinstance(value, datetime):
                    params[name] = deadline_label(value)
                elif isinstance(value, Promise):
                    params[name] = str(value)
        return Text(subject=subject, body=body % params)


def render(variant: str, language: str, **params) -> Text:
    return Renderer(variant).render(language, **params)


def variants() -> list[str]:
    return list(_TEXTS)
