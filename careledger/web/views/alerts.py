"""(being built)"""
from django.http import HttpResponse

from careledger.records.errors import NotFound

from ..pages import STAFF, page


@page(roles=STAFF)
def alert(request, scope, alert_id):
    from careledger.monitoring.selectors import alert_list
    if not alert_list(scope=scope, status=None).filter(pk=alert_id).exists():
        raise NotFound("no alert")
    return HttpResponse("todo")
