from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "careledger.ledger"
    label = "ledger"
    verbose_name = "Ledger"
