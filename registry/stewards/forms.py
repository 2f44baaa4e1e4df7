"""Forms of the data stewards' pages."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from registry.contract import SOURCE_LABELS
from registry.loading.uploads import ENCODINGS
from registry.models import AuditEntry


class AuditFilterForm(forms.Form):
    client = forms.CharField(label=_("调用方"), required=False, max_length=64, strip=True)
    purpose = forms.CharField(label=_("用途"), required=False, max_length=128, strip=True)
    outcome = forms.ChoiceField(
        label=_("结果"),
        required=False,
        choices=[
            ("", _("全部")),
            (AuditEntry.Outcome.ANSWERED, _("已答复")),
            (AuditEntry.Outcome.REFUSED, _("已拒绝")),
        ],
    )
    date_from = forms.DateField(label=_("开始日期"), required=False)
    date_to = forms.DateField(label=_("结束日期"), required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("开始日期不能晚于结束日期。"), code="date_range")
        return cleaned


class FeedUploadForm(forms.Form):
    """A department file a data steward hands in; its rows are checked by the load itself."""

    source = forms.ChoiceField(label=_("数据源"), choices=list(SOURCE_LABELS.items()))
    file = forms.FileField(
        label=_("数据文件（CSV 或 XLSX，格式见数据交换规范）"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )
    encoding = forms.ChoiceField(
        label=_("文件编码（CSV）"),
        choices=[
            (
                encoding,
                _("自动识别（UTF-8 或 GB18030）") if encoding == "auto" else encoding.upper(),
            )
            for encoding in ENCODINGS
        ],
        initial=ENCODINGS[0],
    )
    as_of = forms.DateField(
        label=_("数据日期（部门数据所描述的日期）"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.REGISTRY_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("文件太大：不能超过 %(limit)s MB。") % {"limit": limit // (1024 * 1024)},
                code="too_large",
            )
        return upload


class PoolQualityForm(forms.Form):
    """The dates the pool's figures are judged by; both have defaults (the page's view)."""

    cutoff = forms.DateField(
        label=_("招生数据截止日"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    days = forms.IntegerField(
        label=_("居住证到期提醒天数"), required=False, min_value=1, max_value=3650
    )
