from django.shortcuts import render

from careledger.access.scope import councils_for


def home(request):
    return render(request, "web/home.html", {"councils": councils_for(request.user)})
