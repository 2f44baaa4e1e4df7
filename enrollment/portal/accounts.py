"""Pages about one's own account that every role shares: changing the password."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from enrollment.services.accounts import user_password_change


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request):
    """A new password for the signed-in account; its other sessions are signed out, this one
    stays signed in."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = user_password_change(
            actor=request.user, new_password=form.cleaned_data["new_password1"]
        )
        update_session_auth_hash(request, user)
        messages.success(request, _("密码已修改，其他设备上的登录已退出。"))
        return redirect("home")
    return render(
        request,
        "registration/password_change.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )
