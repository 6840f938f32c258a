"""Checking the audit trail: is every entry there, unchanged, and in its place?

:func:`verify_chain` reads the entries in order (streaming, so a long trail
needs little memory) and stops at the first that fails:

* a gap in the numbers: an entry was deleted;
* a ``prev_hash`` that is not the previous entry's hash: an entry was deleted
  and the numbers closed up, or an entry was moved;
* a hash that does not match the entry's contents: the entry was altered;
* a last entry that is not the one the chain head names: the newest entries
  were deleted (or entries were added behind the trail's back).

What no hash chain kept in the same database can show: someone with the
database owner's rights who rewrites an entry *and* recomputes every later hash
and the head. Copying the head's hash somewhere else from time to time (see
:func:`chain_head`) closes that.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import GENESIS_HASH, AuditEntry, ChainHead
from .trail import hash_of

CHUNK = 2000


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""


def chain_head() -> tuple[int, str]:
    """The newest entry's number and hash, as the head records them ((0, zeros) for an empty trail)."""
    head = ChainHead.objects.filter(pk=1).first()
    return (head.last_seq, head.last_hash) if head else (0, GENESIS_HASH)


def verify_chain() -> VerifyResult:
    head = ChainHead.objects.filter(pk=1).first()
    # Read the head first: entries appended while we read are checked next time.
    entries = AuditEntry.objects.order_by("seq")
    if head is not None:
        entries = entries.filter(seq__lte=head.last_seq)
    checked = 0
    expected_seq = 1
    prev_hash = GENESIS_HASH
    last = None
    for entry in entries.iterator(chunk_size=CHUNK):
        if entry.seq != expected_seq:
            if entry.seq < expected_seq:  # cannot happen with a unique seq; say so rather than loop
                return VerifyResult(False, checked, entry.seq, f"entry #{entry.seq} appears twice")
            missing = f"entries #{expected_seq} to #{entry.seq - 1} are" if entry.seq - expected_seq > 1 else f"entry #{expected_seq} is"
            return VerifyResult(False, checked, expected_seq, f"{missing} missing (deleted)")
        if entry.prev_hash != prev_hash:
            return VerifyResult(False, checked, entry.seq, f"entry #{entry.seq} does not follow entry #{entry.seq - 1}: the chain was broken there")
        if hash_of(entry) != entry.hash:
            return VerifyResult(False, checked, entry.seq, f"entry #{entry.seq} was altered: its contents do not match its hash")
        checked += 1
        expected_seq += 1
        prev_hash = entry.hash
        last = entry
    last_seq = last.seq if last else 0
    if head is None:
        if last is None:
            return VerifyResult(True, 0)
        return VerifyResult(False, checked, last_seq, f"the chain head is missing: entries up to #{last_seq} are not anchored")
    if head.last_seq > last_seq:
        if head.last_seq - last_seq > 1:
            reason = f"the newest entries after #{last_seq} (#{last_seq + 1} to #{head.last_seq}) were deleted"
        else:
            reason = f"the newest entry (#{head.last_seq}) was deleted"
        return VerifyResult(False, checked, last_seq + 1, reason)
    if head.last_seq and head.last_hash != prev_hash:
        return VerifyResult(False, checked, last_seq, f"entry #{last_seq} was altered: it is not the entry the chain head recorded")
    # Entries beyond the head we read: appended since (fine) or added behind the trail's back.
    beyond = AuditEntry.objects.filter(seq__gt=head.last_seq).order_by("seq").values_list("seq", flat=True).first()
    if beyond is not None:
        now_seq, _ = chain_head()
        if now_seq < beyond:
            return VerifyResult(False, checked, beyond, f"entry #{beyond} is not anchored by the chain head: it was added outside the trail")
    return VerifyResult(True, checked)
