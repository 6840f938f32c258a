"""Delivery CSV files: visits, carers and account transactions (``docs/formats.md`` sections 3 and 4).

Each parser reads a *binary* file object line by line (never the whole file) and
yields one result per problem or accepted row, so a 50 MB file of junk is read
quickly, in bounded memory, and never raises::

    for result in parse_visits(stream, source="visits.csv"):
        if isinstance(result, Rejection): ...   # where (source, line, field) and why
        else: result.row, result.line, result.content_hash

Decisions, made once here:

* **Encoding.** UTF-8; a UTF-8 byte order mark is accepted (and dropped). A line
  that is not UTF-8 is rejected with its line, the offending byte, its column and
  its byte offset in the file. A UTF-16 file is refused as a whole.
* **Header.** Required, on line 1. Names are matched after trimming spaces and
  ignoring case; column order is free; unknown (and unnamed) columns are ignored.
  A blank first line, a first line naming none of the columns, a column named
  twice, or a missing required column is a file-level :class:`Rejection` (line 1,
  field ``""``) and parsing stops. An empty file gives one Rejection at line 0.
  A header with no rows after it gives nothing at all.
* **Rows.** Blank lines, and rows whose every field is empty (spreadsheet
  leftovers), are skipped silently. A row with more *or fewer* fields than the
  header is rejected (field ``""``). Quoted fields may span lines (the row's line
  is the line it starts on). A physical line or a row over 65,536 bytes is
  rejected and skipped, so memory stays bounded (after an unclosed quote, reading
  resumes at the next line, which may give further rejections). The number of
  rejections is not capped: a caller that wants to give up early stops iterating.
* **Every problem, one Rejection per field.** A bad row yields one Rejection for
  each field in trouble (its first problem), in the order of :data:`VISIT_COLUMNS`
  and the like, and no accepted row. Checks across fields (end before start, a
  completed visit without times) are reported against the later field
  (``actual_end``, ``actual_start``).
* **Times** are ISO 8601 date and time (``T`` or a space between; seconds
  optional). With an offset (``+01:00``, ``Z``) a time is taken as given; without
  one it is London wall-clock time, through :func:`~careledger.domain.localtime.localize`
  (a repeated hour is its first, BST, occurrence; a skipped one moves forward).
  A date alone where a time is needed is rejected.
  Dates and times must fall in the years 1900 to 2999.
* **Money** is a plain decimal string in pounds, signed (money out negative):
  ``-12.50``. At most two places; no thousands separators (``1,000.00`` is
  refused, as ambiguous with the field separator and with other locales), no
  currency symbol, no exponent. Read exactly by :func:`~careledger.domain.money.parse_money`.
* **Enumerations** (``status``, ``gender``) are matched ignoring case and
  stored lower-case. Carer genders are ``female``, ``male``, ``non_binary`` and
  ``unknown`` (write ``unknown`` when it is not recorded; an empty gender is refused).
* **Optional columns.** ``carer_ref``, ``actual_start`` and ``actual_end`` (visits)
  and ``counterparty`` and ``description`` (transactions) may be absent from the
  header or empty; every other column is required and must be non-empty.
* **Content hash.** ``sha256`` over the kind and the *normalised* values of the
  known columns in a fixed order (times as UTC, money to the penny,
  enumerations lower-case, empty optional values as ``null``): the same row with
  its columns in another order, with extra columns, or with ``+01:00`` rather than
  the London wall-clock time, has the same hash; any change of value changes it.
* **Progress.** ``on_progress(bytes_read)`` is called about every MiB read, and
  once at the end.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import IO, Generic, TypeVar

from careledger.domain.localtime import localize
from careledger.domain.money import Decimal, MoneyError, format_money, parse_money

__all__ = [
    "VISIT_COLUMNS",
    "CARER_COLUMNS",
    "TRANSACTION_COLUMNS",
    "VISIT_STATUSES",
    "CARER_GENDERS",
    "MAX_REF_LENGTH",
    "MAX_LINE_BYTES",
    "RAW_LIMIT",
    "VisitRow",
    "CarerRow",
    "TransactionRow",
    "Accepted",
    "Rejection",
    "RowResult",
    "parse_visits",
    "parse_carers",
    "parse_transactions",
]

VISIT_COLUMNS = (
    "visit_ref",
    "person_ref",
    "provider_ref",
    "service_ref",
    "carer_ref",
    "planned_start",
    "planned_minutes",
    "actual_start",
    "actual_end",
    "status",
)
VISIT_OPTIONAL = frozenset({"carer_ref", "actual_start", "actual_end"})
CARER_COLUMNS = ("carer_ref", "provider_ref", "gender")
TRANSACTION_COLUMNS = ("txn_ref", "account_ref", "date", "amount", "counterparty", "description")
TRANSACTION_OPTIONAL = frozenset({"counterparty", "description"})

VISIT_STATUSES = ("completed", "missed", "cancelled_by_person", "cancelled_by_provider", "in_progress")
CARER_GENDERS = ("female", "male", "non_binary", "unknown")
MAX_REF_LENGTH = 64
MAX_PLANNED_MINUTES = 24 * 60
FIRST_YEAR, LAST_YEAR = 1900, 2999  # dates and times outside these years are refused
MAX_LINE_BYTES = 65_536  # one physical line, and one (possibly multi-line) row
RAW_LIMIT = 1_000  # characters of the raw line kept in a Rejection
PROGRESS_EVERY = 1 << 20  # bytes

_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SKIP_CHUNK = 1 << 16

T = TypeVar("T")


@dataclass(frozen=True)
class VisitRow:
    visit_ref: str
    person_ref: str
    provider_ref: str
    service_ref: str
    carer_ref: str | None
    planned_start: datetime  # aware
    planned_minutes: int  # 1..1440
    actual_start: datetime | None  # aware
    actual_end: datetime | None  # aware
    status: str  # one of VISIT_STATUSES


@dataclass(frozen=True)
class CarerRow:
    carer_ref: str
    provider_ref: str
    gender: str  # one of CARER_GENDERS


@dataclass(frozen=True)
class TransactionRow:
    txn_ref: str
    account_ref: str
    date: date
    amount: Decimal  # signed: money out is negative
    counterparty: str | None
    description: str | None


@dataclass(frozen=True)
class Accepted(Generic[T]):
    """A row that passed every check: where it came from, and a hash of its normalised values."""

    source: str
    line: int
    row: T
    content_hash: str  # sha256 hex


@dataclass(frozen=True)
class Rejection:
    """One problem: in ``source`` at ``line`` (0: the file as a whole), in ``field`` ("" for the line)."""

    source: str
    line: int
    field: str
    reason: str
    raw: str  # the raw line text, at most RAW_LIMIT characters

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}"
        return f"{where} {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "line": self.line, "field": self.field, "reason": self.reason, "raw": self.raw}


RowResult = Accepted[T] | Rejection
ProgressHook = Callable[[int], None]


# --- Reading lines and records -------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    number: int
    text: str  # decoded, line ending kept; "" when problem is set
    raw: str  # for a Rejection: without the line ending, truncated
    problem: str | None


class _LineProblem(Exception):
    def __init__(self, line: _Line) -> None:
        self.line = line


class _RecordTooLong(Exception):
    pass


def _raw(data: bytes) -> str:
    return data[: RAW_LIMIT * 4].decode("utf-8", errors="replace").rstrip("\r\n")[:RAW_LIMIT]


class _Lines:
    """Physical lines from a binary stream, each at most MAX_LINE_BYTES, decoded as UTF-8."""

    def __init__(self, stream: IO[bytes], on_progress: ProgressHook | None) -> None:
        self.stream = stream
        self.on_progress = on_progress
        self.number = 0
        self.offset = 0
        self.next_report = PROGRESS_EVERY

    def _read(self, limit: int) -> bytes:
        data = self.stream.readline(limit)
        if not isinstance(data, bytes | bytearray):
            raise TypeError("the delivery CSV parsers read a binary file object (open it with 'rb')")
        self.offset += len(data)
        if self.on_progress is not None and self.offset >= self.next_report:
            self.on_progress(self.offset)
            self.next_report = (self.offset // PROGRESS_EVERY + 1) * PROGRESS_EVERY
        return bytes(data)

    def finish(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.offset)

    def next(self) -> _Line | None:
        start = self.offset
        data = self._read(MAX_LINE_BYTES + 1)
        if not data:
            return None
        self.number += 1
        if self.number == 1 and data.startswith(_UTF16_BOMS):
            return _Line(self.number, "", _raw(data), "the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8")
        if self.number == 1 and data.startswith(_BOM):
            data = data[len(_BOM) :]
            start += len(_BOM)
        if len(data) > MAX_LINE_BYTES and not data.endswith(b"\n"):
            total = len(data)
            tail = data[-1:]
            while True:  # skip the rest of the line without keeping it
                more = self._read(_SKIP_CHUNK)
                total += len(more)
                tail = (tail + more)[-2:]
                if not more or more.endswith(b"\n"):
                    break
            total -= 2 if tail == b"\r\n" else 1 if tail.endswith(b"\n") else 0  # the line ending is not counted
            reason = f"the line is {total:,} bytes long; at most {MAX_LINE_BYTES:,} are allowed"
            return _Line(self.number, "", _raw(data), reason)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            bad = data[error.start]
            reason = (
                f"the line is not UTF-8: byte 0x{bad:02X} at byte {error.start + 1} of the line "
                f"(byte offset {start + error.start} in the file); save the file as UTF-8"
            )
            return _Line(self.number, "", _raw(data), reason)
        return _Line(self.number, text, text.rstrip("\r\n")[:RAW_LIMIT], None)


@dataclass(frozen=True)
class _Record:
    line: int
    raw: str
    fields: list[str] | None  # None when problem is set
    problem: str | None


def _records(lines: _Lines) -> Iterator[_Record]:
    """CSV records, one at a time; a quoted field may span lines. Never raises on bad input."""
    while True:
        consumed: list[_Line] = []

        def feed() -> Iterator[str]:
            size = 0
            while True:
                line = lines.next()
                if line is None:
                    return
                consumed.append(line)
                if line.problem is not None:
                    raise _LineProblem(line)
                size += len(line.text)
                if size > MAX_LINE_BYTES:
                    raise _RecordTooLong
                yield line.text

        reader = csv.reader(feed(), strict=True)
        try:
            fields = next(reader)
        except StopIteration:
            return
        except _LineProblem as bad:
            first = consumed[0]
            if first is bad.line:
                yield _Record(first.number, first.raw, None, bad.line.problem)
            else:  # a later line of a row whose quoted field spans lines
                reason = f"line {bad.line.number}, inside a quoted field of the row starting here: {bad.line.problem}"
                yield _Record(first.number, "\n".join(c.raw for c in consumed)[:RAW_LIMIT], None, reason)
            continue
        except _RecordTooLong:
            first = consumed[0]
            reason = (
                f"the row starting here runs over {len(consumed)} lines and more than {MAX_LINE_BYTES:,} "
                "characters; is a quoted field not closed?"
            )
            yield _Record(first.number, first.raw, None, reason)
            continue
        except csv.Error as error:
            if not consumed:  # pragma: no cover - csv reports only on input it has read
                return
            first = consumed[0]
            yield _Record(first.number, "\n".join(c.raw for c in consumed)[:RAW_LIMIT], None, f"the row is not valid CSV: {error}")
            continue
        first = consumed[0]
        raw = first.raw if len(consumed) == 1 else "\n".join(c.raw for c in consumed)[:RAW_LIMIT]
        yield _Record(first.number, raw, fields, None)


# --- Field checks ----------------------------------------------------------------------------


class _Bad(Exception):
    """A field's problem: the reason a person can act on."""


_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}:?\d{2})?", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_WHOLE = re.compile(r"[+-]?\d+", re.ASCII)
_AMOUNT = re.compile(r"[+-]?\d+(?:\.\d+)?", re.ASCII)


def _ref(value: str) -> str:
    if len(value) > MAX_REF_LENGTH:
        raise _Bad(f"must be at most {MAX_REF_LENGTH} characters, not {len(value)}")
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise _Bad(f"{value!r} must not contain spaces or control characters")
    return value


def _moment(value: str) -> datetime:
    match = _DATETIME.fullmatch(value)
    if match is None:
        if _DATE.fullmatch(value):
            raise _Bad(f"{value!r} is a date only; a date and time is needed, such as {value}T09:00")
        raise _Bad(f"{value!r} is not a date and time such as 2026-10-25T09:00 or 2026-10-25T09:00:00+01:00")
    day, clock, offset = match.groups()
    _check_year(value, day)
    try:
        parsed = datetime.fromisoformat(f"{day}T{clock}{'+00:00' if offset == 'Z' else offset or ''}")
    except ValueError:
        raise _Bad(f"{value!r} is not a real date and time") from None
    if parsed.tzinfo is None:
        return localize(parsed)
    return parsed


def _check_year(value: str, day: str) -> None:
    # Far from any care package, and far enough from year 1 and 9999 that no offset overflows.
    if not FIRST_YEAR <= int(day[:4]) <= LAST_YEAR:
        raise _Bad(f"{value!r} is out of range: the year must be from {FIRST_YEAR} to {LAST_YEAR}")


def _day(value: str) -> date:
    if not _DATE.fullmatch(value):
        raise _Bad(f"{value!r} is not a date in the form YYYY-MM-DD")
    _check_year(value, value)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Bad(f"{value!r} is not a real date") from None


def _minutes(value: str) -> int:
    if not _WHOLE.fullmatch(value):
        raise _Bad(f"{value!r} is not a whole number of minutes")
    minutes = int(value)
    if minutes < 1:
        raise _Bad(f"{minutes} must be at least 1 minute")
    if minutes > MAX_PLANNED_MINUTES:
        raise _Bad(f"{minutes} is more than {MAX_PLANNED_MINUTES} minutes (24 hours)")
    return minutes


def _amount(value: str) -> Decimal:
    if "," in value:
        raise _Bad(f"{value!r} has a comma: write amounts without thousands separators, such as -1000.00")
    if "£" in value:
        raise _Bad(f"{value!r} must not include a currency symbol; write pounds such as -12.50")
    if not _AMOUNT.fullmatch(value):
        raise _Bad(f"{value!r} is not an amount in pounds such as -12.50")
    try:
        return parse_money(value)
    except MoneyError as error:
        raise _Bad(str(error)) from None


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        lowered = value.lower()
        if lowered not in choices:
            raise _Bad(f"{value!r} is not one of {', '.join(choices)}")
        return lowered

    return check


def _text(value: str) -> str:
    return value


# --- Rows ------------------------------------------------------------------------------------


class _Row:
    """One record's fields by column, collecting each field's first problem."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.problems: dict[str, str] = {}

    def get(self, column: str, check: Callable[[str], T], *, required: bool = True) -> T | None:
        value = self.values.get(column, "").strip()
        if not value:
            if required:
                self.problems[column] = "is required" if column in self.values else "is required (no such column)"
            return None
        try:
            return check(value)
        except _Bad as bad:
            self.problems[column] = str(bad)
            return None

    def problem(self, column: str, reason: str) -> None:
        self.problems.setdefault(column, reason)


def _visit(r: _Row) -> VisitRow | None:
    visit_ref = r.get("visit_ref", _ref)
    person_ref = r.get("person_ref", _ref)
    provider_ref = r.get("provider_ref", _ref)
    service_ref = r.get("service_ref", _ref)
    carer_ref = r.get("carer_ref", _ref, required=False)
    planned_start = r.get("planned_start", _moment)
    planned_minutes = r.get("planned_minutes", _minutes)
    actual_start = r.get("actual_start", _moment, required=False)
    actual_end = r.get("actual_end", _moment, required=False)
    status = r.get("status", _choice(VISIT_STATUSES))
    if status == "completed":
        for column, value in (("actual_start", actual_start), ("actual_end", actual_end)):
            if value is None and column not in r.problems:
                r.problem(column, "is required for a completed visit")
    if actual_end is not None and actual_start is None and "actual_start" not in r.problems:
        r.problem("actual_start", "is required when actual_end is given")
    if actual_start is not None and actual_end is not None:
        if actual_end < actual_start:
            r.problem("actual_end", f"{actual_end.isoformat()} is before actual_start {actual_start.isoformat()}")
        elif actual_end - actual_start > timedelta(hours=24):
            r.problem("actual_end", "is more than 24 hours after actual_start")
    if r.problems:
        return None
    assert visit_ref and person_ref and provider_ref and service_ref and planned_start and planned_minutes and status
    return VisitRow(
        visit_ref, person_ref, provider_ref, service_ref, carer_ref, planned_start, planned_minutes, actual_start, actual_end, status
    )


def _carer(r: _Row) -> CarerRow | None:
    carer_ref = r.get("carer_ref", _ref)
    provider_ref = r.get("provider_ref", _ref)
    gender = r.get("gender", _choice(CARER_GENDERS))
    if r.problems:
        return None
    assert carer_ref and provider_ref and gender
    return CarerRow(carer_ref, provider_ref, gender)


def _transaction(r: _Row) -> TransactionRow | None:
    txn_ref = r.get("txn_ref", _ref)
    account_ref = r.get("account_ref", _ref)
    day = r.get("date", _day)
    amount = r.get("amount", _amount)
    counterparty = r.get("counterparty", _text, required=False)
    description = r.get("description", _text, required=False)
    if r.problems:
        return None
    assert txn_ref and account_ref and day is not None and amount is not None
    return TransactionRow(txn_ref, account_ref, day, amount, counterparty, description)


def _canonical(value: object) -> object:
    if value is None or isinstance(value, str | int):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_money(value)
    raise TypeError(type(value).__name__)  # pragma: no cover


def _content_hash(kind: str, columns: tuple[str, ...], row: object) -> str:
    values = [kind] + [[column, _canonical(getattr(row, column))] for column in columns]
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- The parsers -----------------------------------------------------------------------------


def _parse(
    stream: IO[bytes],
    *,
    source: str,
    kind: str,
    columns: tuple[str, ...],
    optional: frozenset[str],
    build: Callable[[_Row], T | None],
    on_progress: ProgressHook | None,
) -> Iterator[RowResult[T]]:
    lines = _Lines(stream, on_progress)
    records = _records(lines)

    def file_problem(line: int, reason: str, raw: str = "") -> Rejection:
        return Rejection(source, line, "", reason, raw)

    head = next(records, None)
    if head is None:
        lines.finish()
        yield file_problem(0, f"the file is empty: a header row naming the columns ({','.join(columns)}) is required")
        return
    if head.problem is not None:
        lines.finish()
        yield file_problem(head.line, f"the header row cannot be read: {head.problem}", head.raw)
        return
    assert head.fields is not None
    names = [name.strip().lower() for name in head.fields]
    if not any(names):
        lines.finish()
        yield file_problem(head.line, "line 1 is blank: the header row naming the columns must be the first line", head.raw)
        return
    known = [name for name in names if name in columns]
    if not known:
        lines.finish()
        yield file_problem(
            head.line, f"there is no header row: line 1 names none of the columns {', '.join(columns)}", head.raw
        )
        return
    seen: set[str] = set()
    duplicates: list[str] = []
    for name in names:
        if name and name in seen and name not in duplicates:
            duplicates.append(name)
        seen.add(name)
    if duplicates:
        lines.finish()
        yield file_problem(head.line, f"the header names {', '.join(duplicates)} more than once", head.raw)
        return
    missing = [column for column in columns if column not in optional and column not in seen]
    if missing:
        lines.finish()
        yield file_problem(head.line, f"the header is missing the required column(s): {', '.join(missing)}", head.raw)
        return

    index = {name: i for i, name in enumerate(names) if name in columns}
    width = len(names)
    for record in records:
        if record.problem is not None:
            yield Rejection(source, record.line, "", record.problem, record.raw)
            continue
        assert record.fields is not None
        if not any(field.strip() for field in record.fields):
            continue  # a blank line or an empty spreadsheet row
        if len(record.fields) != width:
            more_or_fewer = "more" if len(record.fields) > width else "fewer"
            reason = f"has {len(record.fields)} fields, {more_or_fewer} than the {width} columns of the header"
            yield Rejection(source, record.line, "", reason, record.raw)
            continue
        row = _Row({column: record.fields[i] for column, i in index.items()})
        built = build(row)
        if built is None:
            for column in columns:
                if column in row.problems:
                    yield Rejection(source, record.line, column, row.problems[column], record.raw)
            continue
        yield Accepted(source, record.line, built, _content_hash(kind, columns, built))
    lines.finish()


def parse_visits(stream: IO[bytes], *, source: str, on_progress: ProgressHook | None = None) -> Iterator[RowResult[VisitRow]]:
    """Visits (section 3): ``visit_ref,person_ref,provider_ref,service_ref,carer_ref,planned_start,...``."""
    return _parse(
        stream, source=source, kind="visits", columns=VISIT_COLUMNS, optional=VISIT_OPTIONAL, build=_visit, on_progress=on_progress
    )


def parse_carers(stream: IO[bytes], *, source: str, on_progress: ProgressHook | None = None) -> Iterator[RowResult[CarerRow]]:
    """Carers (section 3): ``carer_ref,provider_ref,gender``."""
    return _parse(
        stream, source=source, kind="carers", columns=CARER_COLUMNS, optional=frozenset(), build=_carer, on_progress=on_progress
    )


def parse_transactions(
    stream: IO[bytes], *, source: str, on_progress: ProgressHook | None = None
) -> Iterator[RowResult[TransactionRow]]:
    """Account transactions (section 4): ``txn_ref,account_ref,date,amount,counterparty,description``."""
    return _parse(
        stream,
        source=source,
        kind="transactions",
        columns=TRANSACTION_COLUMNS,
        optional=TRANSACTION_OPTIONAL,
        build=_transaction,
        on_progress=on_progress,
    )
