"""The stored, append-only ledger of each personal budget (persistence of ``domain.ledger``)."""
from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "careledger.ledger"
    label = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from careledger.ingest.services import statement_balances

        from .services import statement_balances_received

        statement_balances.connect(statement_balances_received, dispatch_uid="careledger.ledger.statement_balances")
