"""Parents' real-name identity: the page that binds the account, and the gate before applying.

A parent may look around (their home page, the policy, their applications) before verifying,
but not apply: the apply pages answer an unverified account with a page that says so and
links here, and the submit API refuses with `identity_unverified`.
"""

import logging
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from enrollment.access import access_denied, parent_required
from enrollment.errors import ApplicationError, ErrorCode, ValidationErrors
from enrollment.portal.parents.forms import id_number_problem
from enrollment.selectors.identity import identity_pending, identity_verified, phone_masked
from enrollment.services import identity as service

logger = logging.getLogger(__name__)


def identity_required(view):
    """Pages that apply: a parent whose identity is not verified is told to verify first.
    Other visitors pass to the view, whose own role check answers them."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if user.is_authenticated and user.is_parent and not user.is_identity_verified:
            access_denied(request, "identity not verified", level=logging.INFO)
            return render(request, "enrollment/identity_required.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


class IdentityForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("真实姓名"),
        max_length=64,
        help_text=gettext_lazy("与户口簿上的姓名一致"),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    id_number = forms.CharField(
        label=gettext_lazy("身份证号码"),
        max_length=18,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    consent = forms.BooleanField(
        label=gettext_lazy(
            "我同意区教育局向区数据统筹局核对我的姓名与身份证号码是否一致（只核对是否一致，"
            "不获取户籍信息）。"
        ),
        error_messages={"required": gettext_lazy("需要您的同意才能核对。")},
    )

    def clean_id_number(self):
        value = self.cleaned_data["id_number"]
        problem = id_number_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return value


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("短信验证码"),
        max_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*"}
        ),
    )


def refusal_message(error: ApplicationError) -> str:
    """A refusal of the identity steps in the page's language."""
    why = error.why
    params = error.extra
    if error.code == ErrorCode.REGISTRY_UNAVAILABLE:
        return _("暂时无法连接户籍数据，请几分钟后再试。")
    if error.code == ErrorCode.INVALID and error.field == "code":
        return _("验证码是 6 位数字。")
    if why == service.WHY_CODE_WRONG:
        return _("验证码不正确，还可以再试 %(left)s 次。") % {
            "left": params.get("attempts_left", 0)
        }
    if why == service.WHY_RESEND_TOO_SOON:
        return _("请在 %(seconds)s 秒后再重新获取验证码。") % {"seconds": params.get("seconds", 60)}
    words = {
        # The same words for a number the registry does not hold and for a name that differs.
        service.WHY_MISMATCH: _("姓名与身份证号码不一致，请核对后再试。"),
        service.WHY_TOO_MANY_CHECKS: _("今天的核对次数已用完，请明天再试。"),
        service.WHY_TAKEN: _(
            "这个身份已绑定另一个账号。如果不是您本人绑定的，请携带身份证到招生窗口办理。"
        ),
        service.WHY_ALREADY_VERIFIED: _("您的账号已完成实名认证。"),
        service.WHY_NO_PHONE: _("您的账号没有手机号码，无法发送验证码，请到招生窗口办理。"),
        service.WHY_NO_CODE: _("没有等待输入的验证码，请重新开始认证。"),
        service.WHY_CODE_EXPIRED: _("验证码已过期，请重新获取。"),
        service.WHY_CODE_ATTEMPTS: _("验证码错误次数过多，请重新开始认证。"),
        service.WHY_RESEND_LIMIT: _("这次认证的验证码发送次数已用完，请重新开始认证。"),
        service.WHY_SMS_FAILED: _("验证码发送失败，请稍后重新获取。"),
    }
    return words.get(why) or _("无法完成实名认证，请稍后再试。")


def _form_refused(form: forms.Form, refused: ApplicationError) -> None:
    errors = refused.errors if isinstance(refused, ValidationErrors) else [refused]
    for error in errors:
        field = error.field if error.field in form.fields else None
        form.add_error(field, refusal_message(error))


@parent_required
@require_http_methods(["GET", "POST"])
def identity_verify(request):
    """Step one (name, ID number, consent) and step two (the code) of the real-name check."""
    user = request.user
    if user.is_identity_verified:
        return render(
            request, "enrollment/identity.html", {"verified": identity_verified(user=user)}
        )
    action = request.POST.get("action", "")
    restart = request.GET.get("restart") or action == "start"
    pending = None if restart else identity_pending(user=user)
    data = request.POST if request.method == "POST" else None
    start_form = IdentityForm(data if action == "start" else None)
    code_form = CodeForm(data if action == "code" else None)
    if action == "start" and start_form.is_valid():
        try:
            service.identity_verify_start(
                actor=user,
                name=start_form.cleaned_data["name"],
                id_number=start_form.cleaned_data["id_number"],
                consented=start_form.cleaned_data["consent"],
            )
        except ApplicationError as refused:
            _form_refused(start_form, refused)
        else:
            messages.success(request, _("验证码已发送，请查看手机短信。"))
            return redirect("identity-verify")
    elif action == "code" and code_form.is_valid():
        try:
            service.identity_code_confirm(actor=user, code=code_form.cleaned_data["code"])
        except ApplicationError as refused:
            _form_refused(code_form, refused)
            pending = identity_pending(user=user)
        else:
            messages.success(request, _("实名认证已完成，现在可以提交申请了。"))
            return redirect("home")
    elif action == "resend":
        try:
            service.identity_code_resend(actor=user)
        except ApplicationError as refused:
            messages.error(request, refusal_message(refused))
        else:
            messages.success(request, _("新的验证码已发送，之前的验证码不再有效。"))
        return redirect("identity-verify")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "enrollment/identity.html",
        {
            "pending": pending,
            "phone": phone_masked(user.phone),
            "minutes": max(settings.IDENTITY_CODE_SECONDS // 60, 1),
            "start_form": start_form,
            "code_form": code_form,
        },
        status=status,
    )
