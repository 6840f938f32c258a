from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "careledger.web"
    label = "web"
    verbose_name = "Web pages"
