from django.contrib import admin
from django.urls import include, path

from careledger.api.routes import api

admin.site.site_header = "careledger administration"
admin.site.site_title = "careledger"
admin.site.index_title = "Councils, people, budgets and care plans"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("careledger.access.urls")),  # /sign-in/, /sign-out/, /password-reset/…
    path("", include("careledger.web.urls")),  # the pages for each kind of user (namespace "web")
]
