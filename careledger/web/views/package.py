"""(being built)"""
from django.http import HttpResponse

from ..pages import PROVIDER, STAFF, page


@page(roles=STAFF | PROVIDER)
def package(request, scope, person_ref):
    scope.person(person_ref)
    return HttpResponse("todo")
