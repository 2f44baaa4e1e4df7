"""What every page a browser test reaches must be, whoever the visitor and whatever the language.

A page is inspected where a journey screenshots it, in the language it was shown in and then
in the other one (the language cookie switched and the page reloaded), so each role's journey
is walked in Chinese and in English at phone and desktop width. A problem is recorded, not
raised, and the test fails at its end with every problem found:
- a server error answered to the page or to any of its requests;
- a page without the product's frame (its top bar and footer);
- a raw policy code shown instead of words: reason codes (`HOUSING_NOT_VERIFIED`), housing
  classes (`OWN`, `RENT`, `NONE`), `D+OWN` (a code in brackets after its words is a detail);
- in English, Chinese left over once the names people and places carry (the data) are taken
  out, and in Chinese, an English sentence of the catalogue (locale/en/…/django.po): a string
  the page should have translated.
"""

import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")
RAW_CODE = re.compile(
    r"(?<![\w-])(?:[A-Z]{2,}(?:_[A-Z]{2,})+|[DCN]\+(?:OWN|RENT|NONE)|OWN|RENT|NONE)(?![\w-])"
)
# A code in brackets after its words (`没有查到孩子的户籍（CHILD_HUKOU_NOT_FOUND）`) is a secondary
# detail officers share with the exports, not a code shown instead of words.
BRACKETED_CODES = re.compile(r"[（(](?:[A-Z][A-Z_+]*[,，;；/\s]*)+[)）]")
# Names the tests type into forms before any row holds them (the application's draft).
TYPED_NAMES = ("陈小明", "李美玲", "陈大文", "王小红", "赵强")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}|<[^>]+>")


@cache
def english_sentences() -> tuple[str, ...]:
    """The catalogue's English, cut at its placeholders: fragments of four words or more,
    which a Chinese page can only show by not translating them."""
    fragments = set()
    text = CATALOGUE.read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        if 'msgid ""\nmsgstr ""\n"Project' in block:
            continue
        parts = block.split("\nmsgstr", 1)
        if len(parts) != 2:
            continue
        english = "".join(re.findall(r'"(.*)"', parts[1])).replace('\\"', '"')
        for fragment in PLACEHOLDER.split(english):
            fragment = fragment.strip(" .,;:()")
            if len(fragment.split()) >= 4:
                fragments.add(fragment)
    return tuple(sorted(fragments, key=len, reverse=True))


def data_values() -> list[str]:
    """Names people and places carry; they stay as they are in every language."""
    from enrollment.models import (
        Application,
        ApplicationEvent,
        Community,
        Decision,
        Evidence,
        Guardian,
        Notification,
        Recheck,
        School,
        User,
    )
    from registry.models import PropertyRecord, RentalRecord

    values = ["简体中文", *TYPED_NAMES]
    # A message is kept in the language it was sent in.
    values += list(Notification.objects.values_list("subject", flat=True))
    values += list(Notification.objects.values_list("body", flat=True))
    values += list(School.objects.values_list("name", flat=True))
    values += list(School.objects.values_list("address", flat=True))
    values += list(Community.objects.values_list("name", flat=True))
    values += list(Application.objects.values_list("child_name", flat=True))
    values += list(Application.objects.values_list("home_address", flat=True))
    values += list(Guardian.objects.values_list("name", flat=True))
    values += list(PropertyRecord.objects.values_list("certificate_no", flat=True))
    values += list(PropertyRecord.objects.values_list("address", flat=True))
    values += list(RentalRecord.objects.values_list("address", flat=True))
    # What people wrote in their own words: statements, reasons, resolutions.
    values += list(Evidence.objects.values_list("statement", flat=True))
    values += list(Evidence.objects.values_list("review_reason", flat=True))
    values += list(Decision.objects.values_list("reason", flat=True))
    values += list(ApplicationEvent.objects.values_list("reason", flat=True))
    values += list(Recheck.objects.values_list("reason", flat=True))
    values += list(Recheck.objects.values_list("resolution_reason", flat=True))
    for first, last in User.objects.values_list("first_name", "last_name"):
        values += [first, last, f"{last}{first}"]
    return sorted({v for v in values if v}, key=len, reverse=True)


def problems(*, url: str, language: str, text: str, has_frame: bool) -> list[str]:
    """What is wrong with a page showing `text` (its visible text) in `language`."""
    found = []
    if not has_frame:
        found.append(f"{url} [{language}]: not in the product's frame")
    codes = sorted(set(RAW_CODE.findall(BRACKETED_CODES.sub("", text))))
    if codes:
        found.append(f"{url} [{language}]: raw codes shown: {codes}")
    if language == "en":
        rest = text
        data = data_values()
        for value in data:
            rest = rest.replace(value, "")
        # A run of Chinese inside a name (a map labels a community by part of its name) is data.
        left = [run for run in CJK.findall(rest) if not any(run in value for value in data)]
        if left:
            found.append(f"{url} [en]: untranslated: {left[:5]}")
    else:
        english = [s for s in english_sentences() if s in text]
        if english:
            found.append(f"{url} [zh-hans]: English left: {english[:3]}")
    return found
