"""The parents' inbox: every message the product sent them, whatever became of the SMS or
e-mail, and their choice of language and channels."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from enrollment.access import parent_required
from enrollment.models import NotificationPreference
from enrollment.selectors.notifications import inbox_list
from enrollment.services.notifications import inbox_mark_read, notification_preferences_set


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=gettext_lazy("消息语言"), choices=settings.LANGUAGES)
    notify_by = forms.ChoiceField(
        label=gettext_lazy("通知方式"),
        choices=NotificationPreference.choices,
        widget=forms.RadioSelect,
    )
    email = forms.EmailField(label=gettext_lazy("电子邮箱（可不填）"), required=False)


@parent_required
@require_http_methods(["GET", "POST"])
def inbox(request):
    user = request.user
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            notification_preferences_set(actor=user, **form.cleaned_data)
            messages.success(request, _("通知设置已保存。"))
            return redirect("inbox")
    else:
        form = PreferencesForm(
            initial={"language": user.language, "notify_by": user.notify_by, "email": user.email}
        )
    now = timezone.now()
    rows = inbox_list(user=user, now=now)
    unread = {row.pk for row in rows if row.read_at is None}
    inbox_mark_read(user=user, now=now)
    return render(
        request,
        "enrollment/inbox.html",
        {"messages_list": rows, "unread": unread, "form": form},
    )
