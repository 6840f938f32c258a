from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "careledger.ingest"
    label = "ingest"
    verbose_name = "Delivery data"
