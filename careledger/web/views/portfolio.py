"""(being built)"""
from django.http import HttpResponse

from ..pages import STAFF, page


@page(roles=STAFF)
def portfolio(request, scope, **kwargs):
    return HttpResponse("todo")
