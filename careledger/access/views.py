"""Sign in, sign out and password reset pages: Django's auth views with our templates and forms.

Repeated failed sign-ins lock the account (django-axes, by username): the lockout
answers 429 with the sign-in page and how long to wait. Reset emails to one address are
limited in number per hour. No page or log here names the account: logs carry at most a user id.
"""

from __future__ import annotations

import logging
import math

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.db.models import Max
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from .forms import NewPasswordForm, PasswordResetRequestForm, SignInForm
from .services import reset_allowed

log = logging.getLogger(__name__)


class SignInView(auth_views.LoginView):
    template_name = "access/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    """POST only (Django's LogoutView refuses GET with 405); shows a 'signed out' page."""

    template_name = "access/signed_out.html"


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form, with at most ``PASSWORD_RESET_LIMIT`` emails to one address within
    ``PASSWORD_RESET_WINDOW``: past that, nothing is sent and the page is the same "check your
    email" one (it says nothing of whether the address has an account, or was asked for too often)."""

    template_name = "access/password_reset_form.html"
    form_class = PasswordResetRequestForm
    email_template_name = "registration/careledger_password_reset_email.txt"
    subject_template_name = "registration/careledger_password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        if not reset_allowed(form.cleaned_data["email"]):
            log.warning("password reset email not sent: %s requests for one address within %s", settings.PASSWORD_RESET_LIMIT, settings.PASSWORD_RESET_WINDOW)
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "access/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "access/password_reset_confirm.html"
    form_class = NewPasswordForm
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        # Whoever reads the account's email may set its password, so a lockout has done its job.
        axes_reset(username=form.user.get_username())
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "access/password_reset_complete.html"


def minutes_until_unlocked(request, username: str | None) -> int:
    """Whole minutes (at least 1) until the account's last counted failure is older than the cool-off."""
    cool_off = get_cool_off(request)
    if cool_off is None:
        return 0
    remaining = cool_off
    if username:
        latest = AccessAttempt.objects.filter(username=username).aggregate(latest=Max("attempt_time"))["latest"]
        if latest is not None:
            remaining = latest + cool_off - timezone.now()
    return max(1, math.ceil(remaining.total_seconds() / 60))


def lockout_message(minutes: int) -> str:
    if minutes <= 0:
        return "Too many failed attempts. Ask your council administrator to unlock your account."
    return f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def locked_out(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the sign-in page again, saying how long to wait, with status 429."""
    if credentials is None and isinstance(original_response, dict):
        credentials = original_response  # axes' async middleware passes (request, credentials)
    username = get_client_username(request, credentials)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = ""
    form = SignInForm(request, initial={"username": username or ""})
    context = {"form": form, "lockout_message": lockout_message(minutes_until_unlocked(request, username)), "next": next_url}
    return render(request, "access/sign_in.html", context, status=429)


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: a plain page instead of Django's technical one."""
    return render(request, "access/csrf_failure.html", status=403)
