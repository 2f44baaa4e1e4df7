"""The stewards' notices of failed loads: their page, and the e-mail a worker sends."""

from django.core.mail import send_mail
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from registry.models import StewardNotice
from registry.stewards.access import paginate, steward_required
from registry.stewards.presentation import notice_sentence


@require_GET
@steward_required
def steward_notices(request):
    """The signed-in steward's notices, newest first; opening the page reads them."""
    notices = StewardNotice.objects.filter(steward=request.user).select_related("batch")
    page = paginate(request, notices)
    for notice in page.object_list:
        notice.sentence = notice_sentence(notice.batch)
    notices.filter(read_at__isnull=True).update(read_at=timezone.now())
    return render(request, "steward/notices.html", {"page": page, "query": ""})


def steward_notices_mail(*, batch_id: int) -> int:
    """E-mail a failed batch's notices to the stewards with an address, each at most once: a
    notice is taken (its `emailed_at` set) before its e-mail goes, so a redelivered task finds
    nothing left to take. Returns how many e-mails were sent."""
    notices = StewardNotice.objects.filter(
        batch_id=batch_id, emailed_at__isnull=True
    ).select_related("batch", "steward")
    sent = 0
    for notice in notices.exclude(Q(steward__email="") | Q(steward__email__isnull=True)):
        taken = StewardNotice.objects.filter(pk=notice.pk, emailed_at__isnull=True).update(
            emailed_at=timezone.now()
        )
        if not taken:
            continue
        with translation.override(getattr(notice.steward, "language", "") or "zh-hans"):
            subject = _("数据导入失败：批次 #%(id)s") % {"id": notice.batch_id}
            body = notice_sentence(notice.batch)
        send_mail(subject, body, None, [notice.steward.email])
        sent += 1
    return sent
