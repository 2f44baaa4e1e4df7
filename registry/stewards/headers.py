"""The stewards' page of header mappings: how each department names a feed's columns.

INTERCHANGE.md makes the mapping data, so a steward who receives another city's export can
teach the import its header without a release: list a source's header sets and add one
header at a time (`registry.services.headers.header_mapping_add`). Kept apart from the
import pages, whose views and templates change on their own schedule.
"""

from django import forms
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from registry.contract import SOURCE_LABELS
from registry.feeds.specs import FEEDS
from registry.models import HeaderMapping
from registry.services.headers import HeaderMappingRefused, header_mapping_add
from registry.stewards.access import steward_required
from registry.stewards.presentation import column_label

REFUSALS = {
    "unknown_column": gettext_lazy("这一列不属于所选数据源。"),
    "empty": gettext_lazy("不能为空。"),
    "too_long": gettext_lazy("不能超过 64 个字符。"),
    "reserved": gettext_lazy("这个名称留给英文列名使用，请换一个。"),
    "english_name": gettext_lazy("这是该数据源的英文列名，本身就能识别，无需映射。"),
    "taken": gettext_lazy("这个表头已经映射到了一列。"),
}


def _column_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Each source's columns, grouped by source, as `source:column`."""
    return [
        (
            str(SOURCE_LABELS.get(source, source)),
            [(f"{source}:{column}", column_label(column)) for column in spec.columns],
        )
        for source, spec in FEEDS.items()
    ]


class HeaderMappingForm(forms.Form):
    column = forms.ChoiceField(label=gettext_lazy("数据源与列"))
    header = forms.CharField(label=gettext_lazy("部门文件中的表头"), max_length=64, strip=True)
    header_set = forms.CharField(
        label=gettext_lazy("表头组名称（例如：广州市公安局户籍导出）"), max_length=64, strip=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["column"].choices = _column_choices()


@steward_required
@require_http_methods(["GET", "POST"])
def steward_header_mappings(request):
    form = HeaderMappingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        source, column = data["column"].split(":", 1)
        try:
            header_mapping_add(
                source=source,
                header_set=data["header_set"],
                header=data["header"],
                column=column,
                acting_user=request.user.username,
            )
        except HeaderMappingRefused as refused:
            field = refused.field if refused.field in form.fields else "column"
            form.add_error(field, str(REFUSALS.get(refused.code, _("无法添加这个映射。"))))
        else:
            return redirect("steward:header-mappings")
    sources = []
    mappings = HeaderMapping.objects.all()
    for source, spec in FEEDS.items():
        rows = [
            {
                "header_set": mapping.header_set,
                "header": mapping.header,
                "column": column_label(mapping.column),
                "created_by": mapping.created_by,
            }
            for mapping in mappings
            if mapping.source == source
        ]
        sources.append(
            {
                "label": SOURCE_LABELS.get(source, source),
                "columns": ", ".join(spec.columns),
                "rows": rows,
            }
        )
    status = 400 if form.is_bound else 200
    return render(
        request, "steward/header_mappings.html", {"form": form, "sources": sources}, status=status
    )
