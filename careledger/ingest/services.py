"""Use cases: import a file, accept a pushed batch, rebuild the running figures.

Both ways in share one path: parse (``careledger.formats``) -> check against the
caller's :class:`~careledger.records.scoping.Scope` (is the provider theirs, the
person or account theirs to report on?) -> write set-based in chunks
(:mod:`careledger.ingest.merge`). Each chunk is one transaction holding its rows,
their history, the figures they change, its rejected rows and the run's counters,
so a process killed mid-file leaves whole chunks only, and running the same file
again completes it without counting anything twice.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, Q, Sum, When
from django.dispatch import Signal
from django.utils import timezone

from careledger.audit import trail
from careledger.domain.tally import start_offset_seconds
from careledger.formats import delivery_csv as csvf
from careledger.formats.delivery_csv import Accepted, CarerRow, Rejection, TransactionRow, VisitRow
from careledger.records.errors import InvalidInput
from careledger.records.models import PaymentAccount
from careledger.records.scoping import Scope

from . import merge
from . import models as m

log = logging.getLogger(__name__)

__all__ = ["KINDS", "MAX_PUSH_ITEMS", "ImportSummary", "ItemOutcome", "PushResult", "import_file", "push_items", "recompute_figures"]

KINDS = ("visits", "carers", "transactions")
MAX_PUSH_ITEMS = 1000
CHUNK_ROWS = 20_000
# Sent after an OFX file is applied, with its closing balances (run, scope, balances: list of
# formats.ofx_statement.ClosingBalance): the ledger checks each against its own balance.
statement_balances = Signal()
ProgressHook = Callable[[int], None]


# --- Checking rows against the caller's reach ----------------------------------------------


class _Reach:
    """The refs the caller may report on, resolved once per import to ids."""

    def __init__(self, scope: Scope, kind: str) -> None:
        self.scope = scope
        self.kind = kind
        adapt = merge.datetime_adapter()
        memo: dict[tuple, object] = {}

        def moment(value: datetime | None) -> object:
            # Visit times repeat (the same hour for many people): convert each once. The key
            # holds the fold and the zone because aware datetimes in one zone compare (and
            # hash) equal across the autumn's repeated hour, which is two different instants.
            if value is None:
                return None
            key = (value, value.fold, value.tzinfo)
            found = memo.get(key)
            if found is None:
                if len(memo) > 100_000:
                    memo.clear()
                found = memo[key] = adapt(value)
            return found

        self.moment = moment
        self.copy_text = connection.vendor == "postgresql"
        council = scope.council
        self.providers = dict(scope.providers().values_list("ref", "id"))
        self.people: dict[str, int] = {}
        self.accounts: dict[str, tuple[int, int]] = {}
        if kind == "visits":
            self.people = dict(scope.people().values_list("ref", "id"))
        elif kind == "transactions":
            people = scope.people().values("id")
            self.accounts = {
                ref: (account_id, person_id)
                for ref, account_id, person_id in PaymentAccount.objects.filter(council=council, person__in=people).values_list("ref", "id", "person_id")
            }

    def stage(self, seq: int, accepted: Accepted[Any]) -> tuple[tuple, tuple[int, str]] | list[Rejection]:
        """The staging row and its (owner, ref) key, or why the caller may not send it."""
        row = accepted.row
        council_id = self.scope.council.pk
        problems: list[tuple[str, str]] = []
        if isinstance(row, VisitRow):
            provider_id = self.providers.get(row.provider_ref)
            person_id = self.people.get(row.person_ref)
            if provider_id is None:
                problems.append(("provider_ref", f"no provider {row.provider_ref!r} that you may send visits for"))
            if person_id is None:
                problems.append(("person_ref", f"no person {row.person_ref!r} that you may send visits for"))
            if problems:
                return self._reject(accepted, problems)
            seconds = None
            if row.actual_start is not None and row.actual_end is not None:
                # Between instants: aware times in one zone subtract by wall clock in Python.
                seconds = int((row.actual_end.astimezone(UTC) - row.actual_start.astimezone(UTC)).total_seconds())
            offset = start_offset_seconds(row.planned_start, row.actual_start, row.actual_end)
            if self.copy_text:  # one line of COPY text: refs hold no white space, only a backslash needs escaping
                start, end = row.actual_start, row.actual_end
                line = (
                    f"{seq}\t{accepted.line}\t{council_id}\t{provider_id}\t{_esc(row.visit_ref)}\t{person_id}\t{_esc(row.service_ref)}\t"
                    f"{_esc(row.carer_ref or '')}\t{row.planned_start.isoformat()}\t{row.planned_minutes}\t"
                    f"{start.isoformat() if start else NULL}\t{end.isoformat() if end else NULL}\t{NULL if seconds is None else seconds}\t"
                    f"{NULL if offset is None else offset}\t{row.status}\t{accepted.content_hash}\n"
                )
                return line, (provider_id, row.visit_ref)
            staged = (
                seq, accepted.line, council_id, provider_id, row.visit_ref,
                person_id, row.service_ref, row.carer_ref or "", self.moment(row.planned_start), row.planned_minutes,
                self.moment(row.actual_start), self.moment(row.actual_end), seconds, offset, row.status,
                accepted.content_hash,
            )  # fmt: skip
            return staged, (provider_id, row.visit_ref)
        if isinstance(row, CarerRow):
            provider_id = self.providers.get(row.provider_ref)
            if provider_id is None:
                return self._reject(accepted, [("provider_ref", f"no provider {row.provider_ref!r} that you may send carers for")])
            return (seq, accepted.line, council_id, provider_id, row.carer_ref, row.gender, accepted.content_hash), (provider_id, row.carer_ref)
        if isinstance(row, TransactionRow):
            account = self.accounts.get(row.account_ref)
            if account is None:
                return self._reject(accepted, [("account_ref", f"no account {row.account_ref!r} that you may send transactions for")])
            account_id, person_id = account
            pence = int(row.amount * 100)
            staged = (
                seq, accepted.line, council_id, account_id, row.txn_ref,
                person_id, row.date, row.amount, pence, row.counterparty or "", row.description or "",
                accepted.content_hash,
            )  # fmt: skip
            return staged, (account_id, row.txn_ref)
        raise TypeError(f"not a delivery row: {type(row).__name__}")

    @staticmethod
    def _reject(accepted: Accepted[Any], problems: list[tuple[str, str]]) -> list[Rejection]:
        return [Rejection(accepted.source, accepted.line, name, reason, _raw_of(accepted.row)) for name, reason in problems]


NULL = "\\N"


def _clean(text: str) -> str:
    """Text as PostgreSQL can store it: a NUL (which a rejected row may hold) written as \\x00."""
    return text.replace("\x00", "\\x00") if "\x00" in text else text


def _esc(ref: str) -> str:
    return ref.replace("\\", "\\\\") if "\\" in ref else ref


def _raw_of(row: object) -> str:
    return repr(row)[: csvf.RAW_LIMIT]


_PARSERS = {"visits": csvf.parse_visits, "carers": csvf.parse_carers, "transactions": csvf.parse_transactions}


# --- Importing a file ------------------------------------------------------------------------


@dataclass
class ImportSummary:
    """What became of a file: the run (with its counts) and its rejected rows."""

    run: m.ImportRun
    rejections: list[Rejection] = field(default_factory=list)  # at most `keep` of them, for printing

    @property
    def ok(self) -> bool:
        return self.run.rejected == 0 and self.run.status == m.ImportRun.Status.APPLIED


class _Hashing:
    """Wraps a binary stream, hashing and counting what is read through it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.sha = hashlib.sha256()
        self.size = 0

    def _seen(self, data: bytes) -> bytes:
        self.sha.update(data)
        self.size += len(data)
        return data

    def read(self, n: int = -1) -> bytes:
        return self._seen(self.stream.read(n))

    def readline(self, n: int = -1) -> bytes:
        return self._seen(self.stream.readline(n))

    def read1(self, n: int = -1) -> bytes:
        read1 = getattr(self.stream, "read1", self.stream.read)
        return self._seen(read1(n))

    def readinto(self, buffer) -> int:  # for io.BufferedReader wrappers
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self._seen(data)
        return len(data)

    def readable(self) -> bool:
        return True

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _results(kind: str, stream: IO[bytes], source: str, on_progress: ProgressHook | None, balances: list | None = None) -> Iterable[Accepted[Any] | Rejection]:
    if kind == "transactions" and source.lower().endswith((".ofx", ".qfx")):
        from careledger.formats.ofx_statement import parse_ofx

        parsed = parse_ofx(stream, source=source)
        if balances is not None:
            balances.extend(parsed.balances)
        return parsed.rows
    return _PARSERS[kind](stream, source=source, on_progress=on_progress)


def import_file(
    *,
    scope: Scope,
    kind: str,
    stream: IO[bytes],
    source: str,
    all_or_nothing: bool = False,
    on_progress: ProgressHook | None = None,
    chunk_rows: int = CHUNK_ROWS,
    keep: int = 1000,
) -> ImportSummary:
    """Import a visits, carers or transactions file (CSV; transactions also OFX by extension).

    Good rows are applied in chunks of ``chunk_rows`` (one transaction each) and
    rejected rows are kept with the run, with file, line, field and reason. With
    ``all_or_nothing`` the file is read twice: once to check every row, then, only
    if none is bad, once more to apply all of it in a single transaction (the
    stream must be seekable). ``keep`` rejections are also returned for printing;
    all of them are stored.
    """
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    scope.require(scope.can_write_delivery)
    provider_id = _only_provider(scope)
    run = m.ImportRun.objects.create(
        council=scope.council, provider_id=provider_id, kind=kind, channel="file", source=source[:255], all_or_nothing=all_or_nothing, actor=scope.actor
    )
    summary = ImportSummary(run)
    reach = _Reach(scope, kind)
    hashing = _Hashing(stream)
    balances: list = []  # an OFX statement's closing balances
    if all_or_nothing:
        bad = _check_only(reach, _results(kind, hashing, source, on_progress), summary, keep)
        run.file_sha256, run.file_bytes = hashing.sha.hexdigest(), hashing.size
        if bad:
            run.status = m.ImportRun.Status.REFUSED
            _finish(run, scope)
            return summary
        stream.seek(0)
        with transaction.atomic():
            _apply(reach, kind, _results(kind, stream, source, None, balances), run, summary, keep, chunk_rows, atomic_chunks=False)
    else:
        _apply(reach, kind, _results(kind, hashing, source, on_progress, balances), run, summary, keep, chunk_rows, atomic_chunks=True)
        run.file_sha256, run.file_bytes = hashing.sha.hexdigest(), hashing.size
    run.status = m.ImportRun.Status.APPLIED
    _finish(run, scope)
    if balances:
        statement_balances.send(sender=m.ImportRun, run=run, scope=scope, balances=balances)
    return summary


def _only_provider(scope: Scope) -> int | None:
    return next(iter(scope.provider_ids)) if not scope.whole_council and len(scope.provider_ids) == 1 else None


def _check_only(reach: _Reach, results: Iterable[Accepted[Any] | Rejection], summary: ImportSummary, keep: int) -> bool:
    """Check every row without writing any; store the rejections. True if any row was bad."""
    run = summary.run
    pending: list[Rejection] = []
    bad_lines: set[int] = set()
    rows = 0
    for seq, result in enumerate(results):
        if isinstance(result, Accepted):
            rows += 1
            staged = reach.stage(seq, result)
            if isinstance(staged, list):
                pending.extend(staged)
                bad_lines.add(result.line)
            continue
        pending.append(result)
        if result.line not in bad_lines:
            bad_lines.add(result.line)
            rows += 1 if result.line > 1 else 0
        if len(pending) >= 5000:
            _store_rejections(run, pending, summary, keep)
            pending = []
    _store_rejections(run, pending, summary, keep)
    run.rows, run.rejected = rows, len(bad_lines)
    return bool(bad_lines)


def _apply(
    reach: _Reach,
    kind: str,
    results: Iterable[Accepted[Any] | Rejection],
    run: m.ImportRun,
    summary: ImportSummary,
    keep: int,
    chunk_rows: int,
    *,
    atomic_chunks: bool,
) -> None:
    spec = merge.SPECS[kind]
    chunk: list[tuple | str] = []
    keys: set[tuple[int, str]] = set()
    rejected: list[Rejection] = []
    bad_lines: set[int] = set()  # of the current chunk
    rows = 0
    council_id = reach.scope.council.pk

    def write(job: tuple) -> None:
        chunk, owners, rejected, bad, rows = job
        with transaction.atomic() if atomic_chunks else _nothing():
            written = merge.write_chunk(spec, chunk, owners=owners, run_id=run.pk, council_id=council_id)
            _store_rejections(run, rejected, summary, keep)
            m.ImportRun.objects.filter(pk=run.pk).update(
                rows=F("rows") + rows,
                added=F("added") + written.added,
                amended=F("amended") + written.amended,
                duplicates=F("duplicates") + written.duplicates,
                rejected=F("rejected") + bad,
                heartbeat_at=timezone.now(),  # (ImportRun.state: a run whose chunks stop coming shows as interrupted)
            )

    # Chunks that commit on their own are written by a second thread with its own
    # connection while this one reads on: the database works while Python parses.
    # Inside an outer transaction (all-or-nothing, or a test) they are written here.
    writer = _Writer(write) if atomic_chunks and not connection.in_atomic_block else None

    def flush() -> None:
        nonlocal chunk, keys, rejected, bad_lines, rows
        job = (chunk, {key[0] for key in keys}, rejected, len(bad_lines), rows)
        if writer is not None:
            writer.put(job)
        else:
            write(job)
        chunk, keys, rejected, bad_lines, rows = [], set(), [], set(), 0

    try:
        for seq, result in enumerate(results):
            if isinstance(result, Rejection):
                rejected.append(result)
                if result.line not in bad_lines:
                    bad_lines.add(result.line)
                    rows += 1 if result.line > 1 else 0
                continue
            staged = reach.stage(seq, result)
            if isinstance(staged, list):
                rejected.extend(staged)
                bad_lines.add(result.line)
                rows += 1
                continue
            row, key = staged
            if key in keys or len(chunk) >= chunk_rows:
                flush()
            chunk.append(row)
            keys.add(key)
            rows += 1
        flush()
    finally:
        if writer is not None:
            writer.close()  # waits for the chunks already read; raises the writer's error, if any
    run.refresh_from_db()


class _Writer:
    """Writes chunks in order on a thread of its own (one chunk queued ahead, so memory stays bounded).

    The first error stops it; it is raised again in the reading thread at the next
    ``put`` or at ``close``, and no later chunk is written.
    """

    def __init__(self, write: Callable[[tuple], None]) -> None:
        self._write = write
        self._jobs: queue.Queue = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="careledger-import-writer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                if self._error is None:
                    try:
                        self._write(job)
                    except BaseException as error:  # noqa: BLE001 - handed to the reading thread
                        self._error = error
        finally:
            connection.close()  # this thread's own connection

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, job: tuple) -> None:
        self._raise()
        self._jobs.put(job)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join()
        self._raise()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _store_rejections(run: m.ImportRun, rejections: Sequence[Rejection], summary: ImportSummary, keep: int) -> None:
    if not rejections:
        return
    m.RejectedRow.objects.bulk_create(
        [m.RejectedRow(run=run, line=r.line, field=_clean(r.field)[:64], reason=_clean(r.reason), raw=_clean(r.raw)) for r in rejections], batch_size=1000
    )
    room = keep - len(summary.rejections)
    if room > 0:
        summary.rejections.extend(rejections[:room])


def _finish(run: m.ImportRun, scope: Scope) -> None:
    run.finished_at = timezone.now()
    run.save()
    from careledger.records.statistics import after_bulk_write

    after_bulk_write({"visits": m.Visit, "carers": m.Carer, "transactions": m.Transaction}.get(run.kind, m.Visit), run.added or 0)
    trail.record(
        "import",
        model="ingest.importrun",
        object_id=run.pk,
        council_id=scope.council.pk,
        after={
            "kind": run.kind,
            "channel": run.channel,
            "file_sha256": run.file_sha256,
            "file_bytes": run.file_bytes,
            "status": run.status,
            "rows": run.rows,
            "added": run.added,
            "amended": run.amended,
            "duplicates": run.duplicates,
            "rejected": run.rejected,
        },
        actor=scope.actor,
    )
    log.info(
        "import run=%s kind=%s status=%s rows=%s added=%s amended=%s duplicates=%s rejected=%s",
        run.pk, run.kind, run.status, run.rows, run.added, run.amended, run.duplicates, run.rejected,
    )  # fmt: skip


# --- Pushed batches --------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemOutcome:
    index: int
    ref: str | None
    outcome: str  # accepted, duplicate, amended, rejected
    errors: tuple[Rejection, ...] = ()


@dataclass(frozen=True)
class PushResult:
    run: m.ImportRun
    items: tuple[ItemOutcome, ...]

    @property
    def counts(self) -> dict[str, int]:
        counts = {"accepted": 0, "duplicate": 0, "amended": 0, "rejected": 0}
        for item in self.items:
            counts[item.outcome] += 1
        return counts


_CHECKERS = {"visits": "check_visit", "carers": "check_carer", "transactions": "check_transaction"}
_REF = {"visits": "visit_ref", "carers": "carer_ref", "transactions": "txn_ref"}
_OUTCOME = {"new": "accepted", "duplicate": "duplicate", "amended": "amended"}


def push_items(*, scope: Scope, kind: str, items: Sequence[Mapping[str, Any]]) -> PushResult:
    """Accept a batch of up to :data:`MAX_PUSH_ITEMS` items, all in one transaction.

    Each item is answered: ``accepted`` (new), ``duplicate`` (same ref and content:
    nothing changed), ``amended`` (same ref, new content: the earlier version kept
    in history) or ``rejected`` with every field in trouble and why. An item's
    ``line`` in a rejection is its index in the batch. The same ref twice in one
    batch is applied in order, as if sent one after the other.
    """
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    scope.require(scope.can_write_delivery)
    if len(items) > MAX_PUSH_ITEMS:
        raise InvalidInput(f"a batch holds at most {MAX_PUSH_ITEMS} items, not {len(items)}; split it")
    check = getattr(csvf, _CHECKERS[kind])
    spec = merge.SPECS[kind]
    reach = _Reach(scope, kind)
    outcomes: dict[int, ItemOutcome] = {}
    chunks: list[list[tuple | str]] = [[]]
    owners: list[set[int]] = [set()]
    keys: set[tuple[int, str]] = set()
    rejected: list[Rejection] = []
    for index, item in enumerate(items):
        ref = item.get(_REF[kind]) if isinstance(item, Mapping) else None
        ref = ref if isinstance(ref, str) else None
        if not isinstance(item, Mapping):
            problem = Rejection("api", index, "", "each item must be a JSON object", repr(item)[:200])
            outcomes[index] = ItemOutcome(index, None, "rejected", (problem,))
            rejected.append(problem)
            continue
        checked = check(item, source="api", line=index)
        if not isinstance(checked, Accepted):
            outcomes[index] = ItemOutcome(index, ref, "rejected", tuple(checked))
            rejected.extend(checked)
            continue
        staged = reach.stage(index, checked)
        if isinstance(staged, list):
            outcomes[index] = ItemOutcome(index, ref, "rejected", tuple(staged))
            rejected.extend(staged)
            continue
        row, key = staged
        if key in keys:
            chunks.append([])
            owners.append(set())
            keys = set()
        chunks[-1].append(row)
        owners[-1].add(key[0])
        keys.add(key)
    with transaction.atomic():
        run = m.ImportRun.objects.create(
            council=scope.council, provider_id=_only_provider(scope), kind=kind, channel="api", source="api", actor=scope.actor,
            rows=len(items), rejected=len({r.line for r in rejected}),
        )  # fmt: skip
        for chunk, chunk_owners in zip(chunks, owners, strict=True):
            written = merge.write_chunk(spec, chunk, owners=chunk_owners, run_id=run.pk, council_id=scope.council.pk, want_outcomes=True)
            run.added += written.added
            run.amended += written.amended
            run.duplicates += written.duplicates
            for seq, outcome in (written.outcomes or {}).items():
                item = items[seq]
                outcomes[seq] = ItemOutcome(seq, item.get(_REF[kind]), _OUTCOME[outcome])
        if rejected:
            m.RejectedRow.objects.bulk_create([m.RejectedRow(run=run, line=r.line, field=_clean(r.field)[:64], reason=_clean(r.reason), raw=_clean(r.raw)) for r in rejected])
        run.status = m.ImportRun.Status.APPLIED
        _finish(run, scope)
    return PushResult(run, tuple(outcomes[i] for i in range(len(items))))


# --- Figures -----------------------------------------------------------------------------------


def _count(condition: Q) -> Sum:
    return Sum(Case(When(condition, then=1), default=0, output_field=IntegerField()))


def computed_figures(person_ids: Iterable[int] | None = None, *, council_id: int | None = None) -> dict[int, dict[str, int]]:
    """Each person's figures computed from the stored rows (the reference the running totals must equal)."""
    visits = m.Visit.objects.all()
    txns = m.Transaction.objects.all()
    vrev = m.VisitRevision.objects.all()
    trev = m.TransactionRevision.objects.all()
    if council_id is not None:
        visits, txns = visits.filter(council_id=council_id), txns.filter(council_id=council_id)
        vrev, trev = vrev.filter(visit__council_id=council_id), trev.filter(transaction__council_id=council_id)
    if person_ids is not None:
        ids = list(person_ids)
        visits, txns, vrev, trev = (q.filter(person_id__in=ids) for q in (visits, txns, vrev, trev))
    figures: dict[int, dict[str, int]] = {}

    def row(person_id: int) -> dict[str, int]:
        return figures.setdefault(person_id, dict.fromkeys(m.DeliveryFigures.FIELDS, 0))

    for r in visits.values("person_id").annotate(
        n=Count("id"),
        completed=_count(Q(status="completed")),
        missed=_count(Q(status__in=["missed", "cancelled_by_provider"])),
        cancelled_by_person=_count(Q(status="cancelled_by_person")),
        in_progress=_count(Q(status="in_progress")),
        seconds=Sum(Case(When(status="completed", actual_seconds__isnull=False, then=F("actual_seconds")), default=0)),
    ):
        row(r["person_id"]).update(
            visits=r["n"], completed=r["completed"], missed=r["missed"], cancelled_by_person=r["cancelled_by_person"],
            in_progress=r["in_progress"], delivered_seconds=r["seconds"] or 0,
        )  # fmt: skip
    for r in txns.values("person_id").annotate(
        n=Count("id"),
        money_in=Sum(Case(When(amount_pence__gt=0, then=F("amount_pence")), default=0)),
        money_out=Sum(Case(When(amount_pence__lt=0, then=-F("amount_pence")), default=0)),
    ):
        row(r["person_id"]).update(transactions=r["n"], money_in_pence=r["money_in"] or 0, money_out_pence=r["money_out"] or 0)
    for q in (vrev, trev):
        for r in q.values("person_id").annotate(n=Count("id")):
            row(r["person_id"])["amendments"] += r["n"]
    return {pid: values for pid, values in figures.items() if any(values.values())}


def recompute_figures(*, council_id: int) -> int:
    """Rebuild every running total of a council from the rows; returns the number of people written."""
    computed = computed_figures(council_id=council_id)
    with transaction.atomic():
        m.DeliveryFigures.objects.filter(council_id=council_id).delete()
        m.DeliveryFigures.objects.bulk_create(
            [m.DeliveryFigures(person_id=pid, council_id=council_id, **values) for pid, values in computed.items()], batch_size=1000
        )
    return len(computed)


def stored_figures(*, council_id: int) -> dict[int, dict[str, int]]:
    """The running totals as stored, in the shape of :func:`computed_figures` (people with all zeros left out)."""
    out = {}
    for f in m.DeliveryFigures.objects.filter(council_id=council_id).values("person_id", *m.DeliveryFigures.FIELDS):
        pid = f.pop("person_id")
        if any(f.values()):
            out[pid] = f
    return out

