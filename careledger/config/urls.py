from django.contrib import admin
from django.urls import include, path

from careledger.api.routes import api
from careledger.web import views

admin.site.site_header = "careledger administration"
admin.site.site_title = "careledger"
admin.site.index_title = "Councils, people, budgets and care plans"

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("careledger.access.urls")),  # /sign-in/, /sign-out/, /password-reset/…
]
