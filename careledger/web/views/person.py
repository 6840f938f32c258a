"""(being built)"""
from django.http import HttpResponse

from ..pages import EVERYONE, page


@page(roles=EVERYONE)
def person(request, scope, person_ref):
    scope.person(person_ref)
    return HttpResponse("todo")
