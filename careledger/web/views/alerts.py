"""One alert: its evidence, and the forms to acknowledge it (a note is required) or resolve it.

POST works without JavaScript: the portfolio's forms post here with ``next`` (where to go back
to, this site only). A missing note re-shows this page with the error; success says so on the
next page. Acknowledge and resolve are for council administrators, commissioners and finance
officers (``monitoring.services``); anyone else who may see the alert gets 404 for the POST.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from careledger.monitoring.selectors import alert_list
from careledger.monitoring.services import alert_acknowledge, alert_resolve
from careledger.records.errors import InvalidInput, NotFound

from ..pages import ALERT_HANDLERS, STAFF, has_role, page, require_role


def _alert(scope, alert_id: int):
    found = alert_list(scope=scope, status=None).filter(pk=alert_id).first()
    if found is None:
        raise NotFound(f"no alert {alert_id}")
    return found


def _next(request, fallback: str) -> str:
    wanted = request.POST.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return wanted
    return fallback


@page(roles=STAFF)
def alert(request, scope, alert_id: int):
    found = _alert(scope, alert_id)
    here = reverse("web:alert", kwargs={"code": scope.council.code, "alert_id": found.pk})
    context = {"council": scope.council, "alert": found, "can_handle_alerts": has_role(scope, ALERT_HANDLERS), "next": here}
    if request.method == "POST":
        require_role(scope, ALERT_HANDLERS)
        action = request.POST.get("action")
        note = request.POST.get("note", "")
        name = f"{found.person.given_name} {found.person.family_name}"
        try:
            if action == "acknowledge":
                alert_acknowledge(scope=scope, alert_id=found.pk, note=note)
                messages.success(request, f"Alert acknowledged for {name}: {found.message}")
            elif action == "resolve":
                alert_resolve(scope=scope, alert_id=found.pk, note=note)
                messages.success(request, f"Alert resolved for {name}: {found.message}")
            else:
                raise InvalidInput("choose Acknowledge or Resolve")
        except InvalidInput as error:
            context.update(note_error=str(error)[:1].upper() + str(error)[1:], note_value=note, page_has_errors=True, next=_next(request, here))
            return render(request, "web/alert.html", context)
        return redirect(_next(request, here))
    return render(request, "web/alert.html", context)
