"""The tamper-evident audit trail: an append-only, hash-chained log of every change, sign-in, export and token use."""
