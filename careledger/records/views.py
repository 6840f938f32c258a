from django.shortcuts import render

from .access import councils_for


def home(request):
    return render(request, "records/home.html", {"councils": councils_for(request.user)})
