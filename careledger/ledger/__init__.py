"""The stored, append-only ledger of each personal budget (persistence of ``domain.ledger``)."""
