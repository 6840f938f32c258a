"""Delivery data coming in: visits, carers and account transactions, pushed or imported.

Every item is keyed by its owner and ref (a visit by provider and ``visit_ref``, a
carer by provider and ``carer_ref``, a transaction by account and ``txn_ref``) and
carries the hash of its normalised content, so sending it again changes nothing
and sending it with new content is an amendment whose earlier version is kept.
"""
