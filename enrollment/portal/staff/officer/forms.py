"""Forms of the officers' pages.

Every form that changes something carries a mandatory reason; an empty or blank reason is
refused with REASON_REQUIRED before any service is called, so nothing is written.
"""

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from enrollment.models import ApplicationState, Decision, Evidence, Recheck
from enrollment.policy.engine import Reason
from enrollment.portal.vocabulary import HOUSING_CLASSES, HUKOU_CLASSES, decision_reason

REASON_REQUIRED = _("请填写理由，理由不能为空。")


REASON_CODES = [
    Reason.CHILD_HUKOU_NOT_FOUND,
    Reason.GUARDIANSHIP_NOT_VERIFIED,
    Reason.HOUSING_NOT_VERIFIED,
    Reason.PERMIT_MISSING,
    Reason.SI_MONTHS_BELOW_MIN,
]


def _class_choices(words: dict) -> list[tuple[str, str]]:
    """A class's code as the value, its words (with the code officers also know) as the label,
    in the language of the request that builds the form."""
    return [("", "—")] + [
        (code, _("%(label)s（%(code)s）") % {"label": label, "code": code})
        for code, label in words.items()
    ]


class ReasonField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("理由"))
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3}))
        kwargs.setdefault("error_messages", {"required": REASON_REQUIRED})
        super().__init__(required=True, strip=True, **kwargs)


class ReasonForm(forms.Form):
    reason = ReasonField()


# The review queue's filter value for cases with evidence waiting for an officer.
PENDING_EVIDENCE = "pending"


class ReviewQueueFilterForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("原因代码"),
        required=False,
        # A callable: the labels are worded in the language of each request.
        choices=lambda: (
            [("", _("全部"))] + [(code, decision_reason(code)) for code in REASON_CODES]
        ),
    )
    state = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部"))] + list(ApplicationState.choices),
    )
    evidence = forms.ChoiceField(
        label=_("待审材料"),
        required=False,
        choices=[("", _("全部")), (PENDING_EVIDENCE, _("有待审材料"))],
    )
    q = forms.CharField(label=_("申请编号"), required=False, max_length=32, strip=True)


class FactValuesForm(ReasonForm):
    """The values accepting a fact takes, whether the family's evidence shows it or the
    officer found it: hukou needs the class and registration date; social insurance, the
    months; a relation, which named adult is the child's guardian and by which document."""

    hukou_class = forms.ChoiceField(
        label=_("户籍类别"),
        required=False,
        # A callable: the words are those of each request's language.
        choices=lambda: _class_choices(HUKOU_CLASSES),
    )
    registered_on = forms.DateField(
        label=_("户籍登记日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    qualifying_months = forms.IntegerField(
        label=_("社保缴费月数"), required=False, min_value=0, max_value=600
    )
    guardian_position = forms.TypedChoiceField(
        label=_("材料证明其为监护人"), required=False, coerce=int, empty_value=None
    )
    relation_document = forms.ChoiceField(
        label=_("证明材料"),
        required=False,
        choices=[
            ("", "—"),
            ("household_booklet", _("户口簿页")),
            ("birth_certificate", _("出生医学证明")),
        ],
    )

    def __init__(self, *args, guardians=(), **kwargs):
        """`guardians`: the application's named adults, one of whom a relation names."""
        super().__init__(*args, **kwargs)
        self.fields["guardian_position"].choices = [("", "—")] + [
            (
                guardian.position,
                _("%(name)s（%(relation)s）")
                % {"name": guardian.name, "relation": guardian.get_relation_display()},
            )
            for guardian in guardians
        ]

    def accepted_values(self) -> dict:
        """The facts the officer states, as the review services take them."""
        values = {}
        if self.cleaned_data.get("hukou_class"):
            values["hukou_class"] = self.cleaned_data["hukou_class"]
        if self.cleaned_data.get("registered_on"):
            values["registered_on"] = self.cleaned_data["registered_on"].isoformat()
        if self.cleaned_data.get("qualifying_months") is not None:
            values["qualifying_months"] = self.cleaned_data["qualifying_months"]
        if self.cleaned_data.get("guardian_position") is not None:
            values["guardian_position"] = self.cleaned_data["guardian_position"]
        if self.cleaned_data.get("relation_document"):
            values["document"] = self.cleaned_data["relation_document"]
        return values


class EvidenceReviewForm(FactValuesForm):
    """Accept or reject one piece of the family's evidence."""

    ACCEPT = "accept"
    REJECT = "reject"

    evidence = forms.IntegerField(widget=forms.HiddenInput)
    verdict = forms.ChoiceField(
        label=_("审核结论"), choices=[(ACCEPT, _("采纳")), (REJECT, _("不采纳"))]
    )


class FindingForm(FactValuesForm):
    """Accept a fact on the officer's own finding; the case is then scored again."""

    # The decision on screen: a finding against one that changed meanwhile is refused.
    decision_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    fact = forms.ChoiceField(
        label=_("认定的事实"),
        choices=[
            (Evidence.Fact.HOUSING, _("住房：按租赁住房计分")),
            (Evidence.Fact.HUKOU, _("户籍：按所填户籍类别和登记日期计分")),
            (Evidence.Fact.SOCIAL_INSURANCE, _("社保：按所填缴费月数计分")),
            (Evidence.Fact.RESIDENCE_PERMIT, _("居住证：符合要求")),
            (Evidence.Fact.RELATION, _("监护关系：所选家长是孩子的监护人")),
        ],
    )


class OverrideForm(ReasonForm):
    """Decide a case not eligible by hand; an outcome alone never makes a case eligible."""

    # The decision on screen: an override of one that changed meanwhile is refused.
    decision_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    outcome = forms.ChoiceField(
        widget=forms.HiddenInput,
        initial=Decision.Outcome.INELIGIBLE,
        choices=[(Decision.Outcome.INELIGIBLE, Decision.Outcome.INELIGIBLE.label)],
    )


class RetryForm(ReasonForm):
    """Ask the registry again for an application waiting for review."""


class WhatIfForm(forms.Form):
    """A whole policy document to try, and a few numbers that, when given, replace its values."""

    document = forms.CharField(
        label=_("政策文件（JSON）"), widget=forms.Textarea(attrs={"rows": 14}), strip=True
    )
    si_min_months = forms.IntegerField(label=_("社保最少月数"), required=False, min_value=0)
    ownership_min_share_percent = forms.DecimalField(
        label=_("产权最低占比（%）"), required=False, min_value=0, max_value=100
    )
    bonus_cap = forms.DecimalField(
        label=_("加分上限"), required=False, min_value=0, max_digits=5, decimal_places=1
    )

    def __init__(self, *args, base_rows: list | None = None, **kwargs):
        """`base_rows` (the active policy's base-points table) adds one number per row."""
        super().__init__(*args, **kwargs)
        self.base_rows = list(base_rows or [])
        for index, row in enumerate(self.base_rows):
            hukou, housing = row.get("hukou", ""), row.get("housing", "")
            label = f"{HUKOU_CLASSES.get(hukou, hukou)} + {HOUSING_CLASSES.get(housing, housing)}"
            if row.get("owns_elsewhere") is True:
                label += _("（另有房产）")
            elif row.get("owns_elsewhere") is False:
                label += _("（无其他房产）")
            self.fields[f"base_{index}"] = forms.DecimalField(
                label=_("基础分 %(row)s") % {"row": label},
                required=False,
                min_value=0,
                max_digits=5,
                decimal_places=1,
            )

    def base_fields_bound(self):
        return [self[f"base_{index}"] for index in range(len(self.base_rows))]

    def clean_document(self):
        text = self.cleaned_data["document"]
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                _("JSON 格式有误：第 %(line)s 行第 %(column)s 列。"),
                code="invalid_json",
                params={"line": error.lineno, "column": error.colno},
            ) from None
        if not isinstance(document, dict):
            raise forms.ValidationError(_("政策文件必须是 JSON 对象。"), code="invalid_json")
        return document

    def policy_document(self) -> dict:
        """The document with the quick numbers applied."""
        document = json.loads(json.dumps(self.cleaned_data["document"]))
        if self.cleaned_data.get("si_min_months") is not None:
            document["si_min_months"] = self.cleaned_data["si_min_months"]
        if self.cleaned_data.get("ownership_min_share_percent") is not None:
            document["ownership_min_share_percent"] = str(
                self.cleaned_data["ownership_min_share_percent"]
            )
        if self.cleaned_data.get("bonus_cap") is not None:
            for rule in document.get("bonus", {}).values():
                rule["cap"] = str(self.cleaned_data["bonus_cap"])
        rows = document.get("base_points")
        for index in range(len(self.base_rows)):
            points = self.cleaned_data.get(f"base_{index}")
            if points is not None and isinstance(rows, list) and index < len(rows):
                rows[index]["points"] = str(points)
        return document


class AllocationStartForm(forms.Form):
    seed = forms.IntegerField(label=_("随机种子"), min_value=0, max_value=2**63 - 1)
    dry_run = forms.BooleanField(label=_("试运行（不可发布）"), required=False)


class AllocationCompareForm(forms.Form):
    a = forms.IntegerField(label=_("方案 A"), min_value=1)
    b = forms.IntegerField(label=_("方案 B"), min_value=1)


class PublishForm(ReasonForm):
    """Publishing a run makes its offers visible to families: a reason is required."""


class RecheckResolveForm(ReasonForm):
    """Uphold the decision, or change it: a change sets at least one of the values below."""

    UPHELD = "upheld"
    CHANGED = "changed"

    result = forms.ChoiceField(
        label=_("复核结论"), choices=[(UPHELD, _("维持原结果")), (CHANGED, _("更正结果"))]
    )
    outcome = forms.ChoiceField(
        label=_("更正后结果"),
        required=False,
        choices=[("", "—"), *Decision.Outcome.choices],
    )
    total_points = forms.DecimalField(
        label=_("更正后总积分"), required=False, min_value=0, max_digits=4, decimal_places=1
    )
    hukou_class = forms.ChoiceField(
        label=_("更正后户籍类别"),
        required=False,
        choices=lambda: _class_choices(HUKOU_CLASSES),
    )
    housing_class = forms.ChoiceField(
        label=_("更正后住房类别"),
        required=False,
        choices=lambda: _class_choices(HOUSING_CLASSES),
    )

    def changes(self) -> dict:
        names = ("outcome", "total_points", "hukou_class", "housing_class")
        return {
            name: self.cleaned_data[name]
            for name in names
            if self.cleaned_data.get(name) not in (None, "")
        }


class RecheckFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部")), *Recheck.Status.choices]
    )
