from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "careledger.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"
