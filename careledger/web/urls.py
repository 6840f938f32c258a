"""The web pages, under the ``web`` namespace. Each area of careledger/web/views has its own routes.

An area module (``careledger.web.views.<area>``) lists its routes in ``urlpatterns``; the
ones in AREAS that exist are included here, so an area can be added without editing this file.
"""

from __future__ import annotations

import importlib
import importlib.util

from django.urls import path

from .views import alerts, home, package, person, portfolio

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("councils/<str:code>/portfolio/", portfolio.portfolio, name="portfolio"),
    path("councils/<str:code>/alerts/<int:alert_id>/", alerts.alert, name="alert"),
    path("councils/<str:code>/people/<str:person_ref>/", package.package, name="package"),
    path("councils/<str:code>/people/<str:person_ref>/budget/", person.person, name="person"),
]

AREAS = ("provider", "finance", "audit")  # built separately; each has its own urlpatterns
for _area in AREAS:
    _name = f"careledger.web.views.{_area}"
    if importlib.util.find_spec(_name) is not None:
        urlpatterns += importlib.import_module(_name).urlpatterns
