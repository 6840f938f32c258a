"""Set-based writing of one chunk of items: stage, classify, keep history, apply, update figures.

One chunk is written in one database transaction, in seven statements whatever
its size (plus the load of the staging table):

1. load the chunk into a temporary staging table: ``COPY ... FROM STDIN`` on
   PostgreSQL, one ``executemany`` on SQLite;
2. classify every staged row against the stored one with the same owner and ref
   (``UPDATE ... FROM``): ``new``, ``duplicate`` (same content hash) or ``amended``;
3. compute each person's change of figures: the new versions' contributions minus
   the replaced versions' (``GROUP BY``), before anything is overwritten; an
   amendment is counted against the person of the version it replaced (so the
   count always equals that person's rows in the revision table);
4. copy the replaced versions into the revision table (``INSERT ... SELECT``);
5. overwrite the amended rows (``UPDATE ... FROM``), version + 1;
6. insert the new rows (``INSERT ... SELECT``);
7. (done with step 3) add the figure changes to each person's running totals.

The same SQL runs on both databases (``UPDATE ... FROM`` needs SQLite 3.33, from
2020). On PostgreSQL the chunk first takes a transaction-scoped advisory lock per
owner (provider or account), so two concurrent senders for the same owner are
serialised and cannot both insert the same ref; SQLite serialises writers anyway.

A chunk must not hold two items with the same owner and ref (the caller starts a
new chunk instead), so each item in a chunk is judged against what was stored
before it, exactly as if the items were sent one at a time.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection

from . import models as m

__all__ = ["Spec", "VISITS", "CARERS", "TRANSACTIONS", "SPECS", "ChunkResult", "write_chunk", "sql_datetime"]

OUTCOMES = ("new", "duplicate", "amended")


@dataclass(frozen=True)
class Spec:
    """How one kind of item is staged and stored."""

    kind: str
    model: type
    revision: type
    owner: str  # the target's owner column: provider_id or account_id
    revision_fk: str  # the revision's column naming its item
    data: tuple[str, ...]  # columns staged, stored and kept in revisions, besides owner, ref and hash
    figures: tuple[tuple[str, str], ...]  # (DeliveryFigures column, SQL over sgn, amended and the data columns)

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    @property
    def staging(self) -> str:
        return f"ingest_staging_{self.kind}"

    @property
    def has_figures(self) -> bool:
        return bool(self.figures)


def _when(condition: str, value: str = "sgn") -> str:
    return f"CASE WHEN {condition} THEN {value} ELSE 0 END"


VISITS = Spec(
    kind="visits",
    model=m.Visit,
    revision=m.VisitRevision,
    owner="provider_id",
    revision_fk="visit_id",
    data=("person_id", "service_ref", "carer_ref", "planned_start", "planned_minutes", "actual_start", "actual_end", "actual_seconds", "start_offset_seconds", "status"),
    figures=(
        ("visits", "sgn"),
        ("completed", _when("status = 'completed'")),
        ("missed", _when("status IN ('missed', 'cancelled_by_provider')")),
        ("cancelled_by_person", _when("status = 'cancelled_by_person'")),
        ("in_progress", _when("status = 'in_progress'")),
        ("delivered_seconds", _when("status = 'completed' AND actual_seconds IS NOT NULL", "sgn * actual_seconds")),
        ("amendments", "amended"),
    ),
)
CARERS = Spec(
    kind="carers",
    model=m.Carer,
    revision=m.CarerRevision,
    owner="provider_id",
    revision_fk="carer_id",
    data=("gender",),
    figures=(),
)
TRANSACTIONS = Spec(
    kind="transactions",
    model=m.Transaction,
    revision=m.TransactionRevision,
    owner="account_id",
    revision_fk="transaction_id",
    data=("person_id", "date", "amount", "amount_pence", "counterparty", "description"),
    figures=(
        ("transactions", "sgn"),
        ("money_in_pence", _when("amount_pence > 0", "sgn * amount_pence")),
        ("money_out_pence", _when("amount_pence < 0", "-sgn * amount_pence")),
        ("amendments", "amended"),
    ),
)
SPECS = {spec.kind: spec for spec in (VISITS, CARERS, TRANSACTIONS)}


@dataclass
class ChunkResult:
    added: int = 0
    amended: int = 0
    duplicates: int = 0
    outcomes: dict[int, str] | None = None  # seq -> outcome, when asked for


def _sqlite_datetime(moment: datetime | None) -> object:
    # Exactly how Django stores a DateTimeField on SQLite with USE_TZ (str() of the
    # naive UTC time), so range queries through the ORM compare like with like.
    if moment is None:
        return None
    return str(moment.astimezone(UTC).replace(tzinfo=None))


def _as_is(moment: datetime | None) -> object:
    return moment  # PostgreSQL takes an aware datetime as it is (timestamptz)


def datetime_adapter():
    """The function that turns an aware datetime into what this database's raw SQL wants.

    Looked up once per import, not per value: the connection proxy is slow to ask.
    """
    return _as_is if connection.vendor == "postgresql" else _sqlite_datetime


def sql_datetime(moment: datetime | None) -> object:
    return datetime_adapter()(moment)


def _column_types(spec: Spec) -> list[tuple[str, str]]:
    fields = {f.column: f for f in spec.model._meta.concrete_fields}
    columns = [("seq", "integer"), ("line", "integer"), ("council_id", "bigint"), ("owner_id", "bigint"), ("ref", "varchar(64)")]
    columns += [(name, fields[name].db_type(connection)) for name in spec.data]
    columns += [("content_hash", "varchar(64)"), ("target_id", "bigint"), ("outcome", "varchar(10) DEFAULT 'new'")]
    return columns


def _staged_columns(spec: Spec) -> list[str]:
    return ["seq", "line", "council_id", "owner_id", "ref", *spec.data, "content_hash"]


def _ensure_staging(cursor, spec: Spec) -> None:
    columns = ", ".join(f"{name} {kind}" for name, kind in _column_types(spec))
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {spec.staging} ({columns})")
    cursor.execute(f"TRUNCATE {spec.staging}" if connection.vendor == "postgresql" else f"DELETE FROM {spec.staging}")


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    return str(value)  # int, Decimal, date, aware datetime ("2026-05-01 08:00:00+00:00")


def _load(cursor, spec: Spec, rows: Sequence[tuple]) -> None:
    names = _staged_columns(spec)
    if connection.vendor == "postgresql":
        # COPY's text format, written in blocks: psycopg's write_row costs ~16 µs a row, this ~3.
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {spec.staging} ({', '.join(names)}) FROM STDIN") as copy:
            for start in range(0, len(rows), 5000):
                block = rows[start : start + 5000]
                if isinstance(block[0], str):  # already COPY text lines (see services._Reach)
                    copy.write("".join(block))
                else:
                    copy.write("".join("\t".join(map(_copy_value, row)) + "\n" for row in block))
    else:
        # sqlite3's own executemany: Django's wrapper rewrites the parameters of every row.
        marks = ", ".join(["?"] * len(names))
        cursor.cursor.executemany(f"INSERT INTO {spec.staging} ({', '.join(names)}) VALUES ({marks})", rows)


def _lock_owners(cursor, spec: Spec, owners: set[int]) -> None:
    if connection.vendor != "postgresql":
        return
    for owner in sorted(owners):  # always in the same order, so two chunks cannot deadlock
        key = zlib.crc32(f"careledger.ingest.{spec.owner}".encode()) & 0x7FFFFFFF
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [key, owner])


def write_chunk(
    spec: Spec, rows: Sequence[tuple | str], *, owners: set[int], run_id: int, council_id: int, want_outcomes: bool = False
) -> ChunkResult:
    """Write one chunk (call inside ``transaction.atomic()``); ``rows`` follow :func:`_staged_columns`.

    On PostgreSQL a row may also be given as one line of COPY text (tab-separated,
    ``\\N`` for null, newline-terminated), which is several times cheaper to make.
    ``owners`` are the provider or account ids the rows belong to (for the lock).

    Returns the counts, and with ``want_outcomes`` each row's outcome by ``seq``.
    """
    result = ChunkResult()
    if not rows:
        result.outcomes = {} if want_outcomes else None
        return result
    now = sql_datetime(datetime.now(UTC))
    table, stg, owner = spec.table, spec.staging, spec.owner
    data = ", ".join(spec.data)
    with connection.cursor() as cursor:
        _ensure_staging(cursor, spec)
        _lock_owners(cursor, spec, owners)
        _load(cursor, spec, rows)
        # 2. classify (every staged row starts as 'new')
        cursor.execute(
            f"UPDATE {stg} SET target_id = t.id, outcome = CASE WHEN t.content_hash = {stg}.content_hash THEN 'duplicate' ELSE 'amended' END "
            f"FROM {table} t WHERE t.{owner} = {stg}.owner_id AND t.ref = {stg}.ref"
        )
        # 3. figure changes, before the amended rows are overwritten
        if spec.has_figures:
            _add_figures(cursor, spec, council_id, now)
        # 4. history
        cursor.execute(
            f"INSERT INTO {spec.revision._meta.db_table} ({spec.revision_fk}, version, {data}, content_hash, run_id, received_at, replaced_at) "
            f"SELECT t.id, t.version, {', '.join('t.' + c for c in spec.data)}, t.content_hash, t.run_id, t.received_at, %s "
            f"FROM {table} t JOIN {stg} s ON t.id = s.target_id WHERE s.outcome = 'amended'",
            [now],
        )
        # 5. amendments
        sets = ", ".join(f"{c} = {stg}.{c}" for c in spec.data)
        cursor.execute(
            f"UPDATE {table} SET {sets}, content_hash = {stg}.content_hash, version = {table}.version + 1, run_id = %s, received_at = %s "
            f"FROM {stg} WHERE {table}.id = {stg}.target_id AND {stg}.outcome = 'amended'",
            [run_id, now],
        )
        # 6. new rows
        cursor.execute(
            f"INSERT INTO {table} (council_id, {owner}, ref, {data}, content_hash, version, run_id, received_at) "
            f"SELECT council_id, owner_id, ref, {data}, content_hash, 1, %s, %s FROM {stg} WHERE outcome = 'new' ORDER BY seq",
            [run_id, now],
        )
        cursor.execute(f"SELECT outcome, COUNT(*) FROM {stg} GROUP BY outcome")
        counts = dict(cursor.fetchall())
        result.added, result.amended, result.duplicates = counts.get("new", 0), counts.get("amended", 0), counts.get("duplicate", 0)
        if want_outcomes:
            cursor.execute(f"SELECT seq, outcome FROM {stg}")
            result.outcomes = dict(cursor.fetchall())
        cursor.execute(f"TRUNCATE {stg}" if connection.vendor == "postgresql" else f"DELETE FROM {stg}")
    return result


def _add_figures(cursor, spec: Spec, council_id: int, now: object) -> None:
    """Add each person's change (new versions minus the versions they replace) to their running totals.

    Two statements: make the missing figure rows, then one ``UPDATE ... FROM`` a
    ``GROUP BY`` of the changes. Must run before the amended rows are overwritten.
    """
    figures = m.DeliveryFigures._meta.db_table
    table, stg = spec.table, spec.staging
    zero_columns = ", ".join(m.DeliveryFigures.FIELDS)
    zeros = ", ".join("0" for _ in m.DeliveryFigures.FIELDS)
    cursor.execute(
        f"INSERT INTO {figures} (person_id, council_id, {zero_columns}, updated_at) "
        f"SELECT DISTINCT person_id, %s, {zeros}, %s FROM {stg} WHERE outcome <> 'duplicate' "
        f"ON CONFLICT (person_id) DO NOTHING",
        [council_id, now],
    )
    used = sorted({c for c in spec.data if any(c in expr for _, expr in spec.figures)} | {"person_id"})
    cols = ", ".join(used)
    t_cols = ", ".join(f"t.{c}" for c in used)
    names = [name for name, _ in spec.figures]
    sums = ", ".join(f"SUM({expr}) AS {name}" for name, expr in spec.figures)
    sets = ", ".join(f"{name} = {figures}.{name} + d.{name}" for name in names)
    cursor.execute(
        f"UPDATE {figures} SET {sets}, updated_at = %s FROM ("
        f"SELECT person_id, {sums} FROM ("
        f"SELECT {cols}, 1 AS sgn, 0 AS amended FROM {stg} WHERE outcome <> 'duplicate' "
        f"UNION ALL SELECT {t_cols}, -1 AS sgn, 1 AS amended FROM {table} t JOIN {stg} s ON t.id = s.target_id WHERE s.outcome = 'amended'"
        f") changes GROUP BY person_id) d WHERE {figures}.person_id = d.person_id",
        [now],
    )
