"""Delivery CSV files: visits, carers and account transactions (``docs/formats.md`` sections 3 and 4).

Each parser reads a *binary* file object a block at a time (never the whole file)
and yields one result per problem or accepted row, so a 50 MB file of junk is read
quickly, in bounded memory, and never raises::

    for result in parse_visits(stream, source="visits.csv"):
        if isinstance(result, Rejection): ...   # where (source, line, field) and why
        else: result.row, result.line, result.content_hash

One item of the JSON push API is checked by :func:`check_visit`, :func:`check_carer`
or :func:`check_transaction`: the same checks, normalisation and content hash as a
CSV row, with the same reasons.

Decisions, made once here:

* **Encoding.** UTF-8; a UTF-8 byte order mark is accepted (and dropped). A line
  that is not UTF-8 is rejected with its line, the offending byte, its column and
  its byte offset in the file. A UTF-16 file is refused as a whole.
* **Header.** Required, on line 1. Names are matched after trimming spaces and
  ignoring case; column order is free; unknown (and unnamed) columns are ignored.
  A blank first line, a first line naming none of the columns, a column named
  twice, or a missing required column is a file-level :class:`Rejection` (line 1,
  field ``""``) and parsing stops. An empty file (or one of only a byte order mark)
  gives one Rejection at line 0. A header with no rows after it gives nothing at all.
* **Rows.** Lines end at ``\\n`` (a ``\\r`` before it is part of the line ending).
  Blank lines, and rows whose every field is empty (spreadsheet leftovers), are
  skipped silently. A row with more *or fewer* fields than the header is rejected
  (field ``""``). Quoted fields may span lines (the row's line is the line it
  starts on). A physical line over 65,536 bytes (without its line ending), or a row
  spanning lines over 65,536 characters (line endings included), is rejected and
  skipped, so memory stays bounded (after an unclosed quote, reading resumes at the
  next line, which may give further rejections). The number of rejections is not
  capped: a caller that wants to give up early stops iterating.
* **Every problem, one Rejection per field.** A bad row yields one Rejection for
  each field in trouble (its first problem), in the order of :data:`VISIT_COLUMNS`
  and the like, and no accepted row. Checks across fields (end before start, a
  completed visit without times) are reported against the later field
  (``actual_end``, ``actual_start``).
* **Values** are trimmed of surrounding white space before they are checked.
* **References** (``*_ref``) are at most :data:`MAX_REF_LENGTH` characters, with no
  white space or control characters.
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
  header or empty (an empty one is ``None``); every other column is required and
  must be non-empty.
* **Rows are named tuples** (:class:`VisitRow`, :class:`CarerRow`,
  :class:`TransactionRow`, and :class:`Accepted` around them): immutable, compared
  by value, and cheap to make by the hundred thousand. :class:`Rejection` is a
  frozen dataclass.
* **Content hash.** Fixed for good: stored hashes tell a row sent again from an
  amendment, so this form must never change. ``sha256``, as 64 lower-case hex
  digits, of the UTF-8 bytes of a canonical text: the kind (``visits``, ``carers``
  or ``transactions``), then ``name=value`` for each column, in the order of
  :data:`VISIT_COLUMNS` (:data:`CARER_COLUMNS`, :data:`TRANSACTION_COLUMNS`), whose
  value is not ``None``, all joined by the unit separator U+001F (shown here as
  ``|``; one line, cut in two here)::

      visits|visit_ref=V1|person_ref=P1|provider_ref=PROV1|service_ref=S1|planned_start=
      2026-03-02T09:00:00+00:00|planned_minutes=30|status=missed

  Values are the *normalised* ones: text as kept (trimmed), with each ``\\`` written
  ``\\\\`` and each U+001F written as the four characters ``\\x1f``; times in UTC as
  ``YYYY-MM-DDTHH:MM:SS+00:00`` (with ``.ffffff`` when there are microseconds);
  dates ``YYYY-MM-DD``; money to the penny (``-12.50``, ``0.00``, never ``-0.00``);
  minutes as a plain whole number; enumerations lower-case. An empty optional value
  is left out, name and all, so an optional column added later leaves the hash of
  every row without it unchanged. So the same row with its columns in another
  order, with extra columns, or with ``+01:00`` rather than the London wall-clock
  time, has the same hash; any change of value changes it. :func:`content_hash_of`
  gives it for any row (an OFX transaction hashes as the same CSV row).
* **JSON items** (:func:`check_visit` and the like) map column names to values:
  strings, or ``null`` or missing for an optional column (missing or ``null`` for a
  required one "is required"); ``planned_minutes`` may also be a JSON integer, and
  ``amount`` an integer or a string, but never a number with a fraction (send
  amounts as decimal strings, such as ``"-12.50"``: a float is not exact). Unknown
  keys are ignored. An item and the identical CSV row give the same row and hash.
* **Progress.** ``on_progress(bytes_read)`` is called about every MiB read, and
  once at the end.
* **Speed** (the rules above are unchanged by it). A block of about a MiB is decoded
  at once and split into lines. A block without a quote character (and with no
  ``\r`` but in ``\r\n``) is split at commas, exactly as the :mod:`csv` reader
  would; any other block goes through the reader, line numbers coming from its count.
  A block that does not decode, or has an over-long line, is read again line by line
  for the exact place of each problem. A common good row is checked by a quick path
  that only says yes (anything else goes through the field-by-field checks, for the
  reasons); each distinct time, date and amount is parsed once per file, and a time
  is localised once per hour (London changes its offset only on the hour).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import reprlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import chain, islice, repeat
from operator import itemgetter
from typing import IO, Generic, NamedTuple, TypeVar

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
    "check_visit",
    "check_carer",
    "check_transaction",
    "content_hash_of",
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
_BLOCK_BYTES = 1 << 20  # read and decoded at once
_SUSPECT_CHARS = MAX_LINE_BYTES // 4  # a line of fewer characters cannot have too many bytes
_CACHE_LIMIT = 1 << 14  # distinct values of a column remembered while parsing one file
_JSON_CACHE_LIMIT = 1 << 12  # and while checking pushed items, for the life of the process
_SEP = "\x1f"  # between the parts of the canonical text of the content hash
_DAY = timedelta(hours=24)

T = TypeVar("T")


class VisitRow(NamedTuple):
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


class CarerRow(NamedTuple):
    carer_ref: str
    provider_ref: str
    gender: str  # one of CARER_GENDERS


class TransactionRow(NamedTuple):
    txn_ref: str
    account_ref: str
    date: date
    amount: Decimal  # signed: money out is negative
    counterparty: str | None
    description: str | None


class Accepted(NamedTuple, Generic[T]):
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

_new = tuple.__new__  # makes a named tuple from a tuple of its values, skipping the Python-level __new__
_sha256 = hashlib.sha256


# --- Content hash ----------------------------------------------------------------------------


_KINDS_OF_ROWS: dict[type, tuple[str, tuple[str, ...]]] = {
    VisitRow: ("visits", VISIT_COLUMNS),
    CarerRow: ("carers", CARER_COLUMNS),
    TransactionRow: ("transactions", TRANSACTION_COLUMNS),
}
_KIND_NAMES = {"visit": "visits", "carer": "carers", "transaction": "transactions"}


def _escape(text: str) -> str:
    if "\\" in text or _SEP in text:
        return text.replace("\\", "\\\\").replace(_SEP, "\\x1f")
    return text


def _canonical(value: object) -> str:
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, bool):
        raise TypeError("a row holds no true or false values")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError(f"{value.isoformat()} is a naive time: a row's times are aware")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format_money(value)
    raise TypeError(type(value).__name__)


def _canonical_text(kind: str, columns: tuple[str, ...], row: object) -> str:
    parts = [kind]
    for column in columns:
        value = getattr(row, column)
        if value is not None:
            parts.append(f"{column}={_canonical(value)}")
    return _SEP.join(parts)


def _digest(text: str) -> str:
    return _sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def content_hash_of(row: VisitRow | CarerRow | TransactionRow) -> str:
    """The content hash of a row (see the module's notes): what a parser gives for it."""
    try:
        kind, columns = _KINDS_OF_ROWS[type(row)]
    except KeyError:
        raise TypeError(f"not a delivery row: {type(row).__name__}") from None
    return _digest(_canonical_text(kind, columns, row))


def _content_hash(kind: str, columns: tuple[str, ...], row: object) -> str:
    """:func:`content_hash_of` by kind (``"transactions"`` or ``"transaction"``) and columns."""
    return _digest(_canonical_text(_KIND_NAMES.get(kind, kind), columns, row))


# --- Reading lines and records -------------------------------------------------------------


class _Problem(NamedTuple):
    """A physical line that cannot be read, in place of its text."""

    number: int
    reason: str
    raw: str


# A piece of a file: the number of its first line, its lines, the unreadable line that
# follows them (if any), and its text when it is *simple*: no quote character, and no
# "\r" but in "\r\n". The lines of a simple piece have no line endings (each record is
# one line, its fields split at commas, exactly as the csv reader would split them);
# other lines keep theirs (each ends in "\n", but perhaps the file's last).
_Piece = tuple[int, list[str], _Problem | None, str | None]

# A record: its line, then its fields and its text (a line, or a tuple of lines) or,
# for a row that cannot be read, None and (reason, raw).
_Record = tuple[int, list[str] | None, "str | tuple[str, ...]"]


def _raw(data: bytes) -> str:
    return data[: RAW_LIMIT * 4].decode("utf-8", errors="replace").rstrip("\r\n")[:RAW_LIMIT]


def _raw_of(text: str | tuple[str, ...]) -> str:
    if isinstance(text, str):
        return text.rstrip("\r\n")[:RAW_LIMIT]
    return "\n".join(line.rstrip("\r\n")[:RAW_LIMIT] for line in text)[:RAW_LIMIT]


def _too_many_bytes(length: int) -> str:
    return f"the line is {length:,} bytes long; at most {MAX_LINE_BYTES:,} are allowed"


def _is_simple(text: str) -> bool:
    """No quote character, and no "\\r" but in "\\r\\n": each line one record, split at commas."""
    return '"' not in text and text.count("\r") == text.count("\r\n")


def _utf8_length(line: str) -> int:
    return len(line.encode("utf-8"))


def _content_bytes(line: str) -> int:
    ending = 2 if line.endswith("\r\n") else 1 if line.endswith("\n") else 0
    return len(line.encode("utf-8")) - ending


class _Source:
    """A binary stream as pieces of decoded lines, read a block at a time."""

    def __init__(self, stream: IO[bytes], on_progress: ProgressHook | None) -> None:
        self.stream = stream
        self.on_progress = on_progress
        self.offset = 0  # bytes read from the stream
        self.next_report = PROGRESS_EVERY

    def _read(self) -> bytes:
        data = self.stream.read(_BLOCK_BYTES)
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

    def pieces(self) -> Iterator[_Piece]:
        buf = self._read()
        eof = not buf
        while not eof and len(buf) < len(_BOM):
            more = self._read()
            eof = not more
            buf += more
        if buf.startswith(_UTF16_BOMS):
            reason = "the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8"
            yield 1, [], _Problem(1, reason, _raw(buf[: MAX_LINE_BYTES + 1].partition(b"\n")[0])), None
            return
        position = 0  # in the file, of buf[0]
        if buf.startswith(_BOM):
            buf = buf[len(_BOM) :]
            position = len(_BOM)
        number = 0  # lines so far
        while True:
            cut = buf.rfind(b"\n") + 1
            if not cut and not eof:
                if len(buf) > MAX_LINE_BYTES:  # a line too long to keep: skip the rest of it
                    number += 1
                    problem, used, buf, eof = self._skip_line(buf)
                    position += used
                    yield number, [], problem._replace(number=number), None
                    continue
                more = self._read()
                if more:
                    buf = buf + more if buf else more
                else:
                    eof = True
                continue
            if cut:
                block, buf = buf[:cut], buf[cut:]
            elif buf:  # the last line, without a line ending
                block, buf = buf, b""
            else:
                return
            count = yield from self._block(block, number + 1, position)
            number += count
            position += len(block)

    def _skip_line(self, start: bytes) -> tuple[_Problem, int, bytes, bool]:
        """Read past the line that ``start`` begins (no "\\n" in it); return its problem,
        its size with its line ending, what follows it, and whether the file has ended."""
        raw = _raw(start[: MAX_LINE_BYTES + 1])
        length = len(start)
        last = start[-1:]
        while True:
            more = self._read()
            if not more:
                return _Problem(0, _too_many_bytes(length), raw), length, b"", True
            end = more.find(b"\n")
            if end < 0:
                length += len(more)
                last = more[-1:]
                continue
            length += end
            before = more[end - 1 : end] if end else last
            content = length - 1 if before == b"\r" else length
            return _Problem(0, _too_many_bytes(content), raw), length + 1, more[end + 1 :], False

    def _block(self, block: bytes, first: int, position: int) -> Iterator[_Piece]:
        """Pieces of a block of whole lines; returns the number of lines in it."""
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            return (yield from self._precise(block, first, position))
        simple = _is_simple(text)
        if simple:
            lines = (text.replace("\r\n", "\n") if "\r" in text else text).split("\n")
            if not lines[-1]:
                lines.pop()  # after the last line ending
            content_bytes: Callable[[str], int] = _utf8_length
        else:
            lines = io.StringIO(text, newline="\n").readlines()
            content_bytes = _content_bytes
        if (
            len(block) > MAX_LINE_BYTES
            and max(map(len, lines)) > _SUSPECT_CHARS
            and any(content_bytes(line) > MAX_LINE_BYTES for line in lines if len(line) > _SUSPECT_CHARS)
        ):
            return (yield from self._precise(block, first, position))
        yield first, lines, None, text if simple else None
        return len(lines)

    @staticmethod
    def _precise(block: bytes, first: int, position: int) -> Iterator[_Piece]:
        """A block read line by line, with each unreadable line's problem; returns its number of lines."""
        good: list[str] = []
        start = number = first
        for data in io.BytesIO(block):
            ending = 2 if data.endswith(b"\r\n") else 1 if data.endswith(b"\n") else 0
            problem = None
            if len(data) - ending > MAX_LINE_BYTES:
                problem = _Problem(number, _too_many_bytes(len(data) - ending), _raw(data[: MAX_LINE_BYTES + 1]))
            else:
                try:
                    good.append(data.decode("utf-8"))
                except UnicodeDecodeError as error:
                    reason = (
                        f"the line is not UTF-8: byte 0x{data[error.start]:02X} at byte {error.start + 1} of the line "
                        f"(byte offset {position + error.start} in the file); save the file as UTF-8"
                    )
                    problem = _Problem(number, reason, _raw(data))
            if problem is not None:
                yield start, good, problem, None
                good = []
                start = number + 1
            number += 1
            position += len(data)
        if good:
            yield start, good, None, None
        return number - first


def _end_marker(ended: list[bool]) -> Iterator[str]:
    """No lines; notes that the reader asked for more."""
    ended.append(True)
    return
    yield  # pragma: no cover - makes this a generator


def _overflow(lines: list[str], start: int, end: int) -> int | None:
    """The line of lines[start:end] (a row over several lines) that takes it over the limit, if any."""
    if end - start < 2:
        return None  # one physical line is never too many characters: its bytes were checked
    size = 0
    for index in range(start, end):
        size += len(lines[index])
        if size > MAX_LINE_BYTES:
            return index
    return None


def _too_long(lines: list[str], first: int, start: int, over: int) -> _Record:
    reason = (
        f"the row starting here runs over {over - start + 1} lines and more than {MAX_LINE_BYTES:,} "
        "characters; is a quoted field not closed?"
    )
    return first + start, None, (reason, _raw_of(lines[start]))


def _scan(lines: list[str], first: int, final: bool) -> Iterator[_Record]:
    """The records of ``lines`` (the first being line ``first``) through one C csv reader.

    Returns None, or (unless ``final``) the index of the line where a row starts that
    is still inside a quoted field at the end of ``lines``: more lines may finish it.
    """
    start = 0  # where the reader starts: after a row too long, a new reader resumes past it
    while True:
        ended: list[bool] = []
        reader = csv.reader(chain(islice(lines, start, None) if start else lines, _end_marker(ended)), strict=True)
        done = start  # the first line not in a record yet
        restart = None
        while restart is None:
            try:
                for fields in reader:
                    end = start + reader.line_num
                    if end - done == 1:
                        yield first + done, fields, lines[done]
                    else:
                        over = _overflow(lines, done, end)
                        if over is not None:
                            yield _too_long(lines, first, done, over)
                            restart = over + 1
                            break
                        yield first + done, fields, tuple(lines[done:end])
                    done = end
                else:
                    return None
            except csv.Error as error:
                end = start + reader.line_num
                over = _overflow(lines, done, end)
                if over is not None:
                    yield _too_long(lines, first, done, over)
                    restart = over + 1
                elif ended and not final:
                    return done
                else:
                    yield first + done, None, (f"the row is not valid CSV: {error}", _raw_of(tuple(lines[done:end])))
                    done = end
        start = restart


def _items(source: _Source) -> Iterator[tuple[int, list[str]] | _Record]:
    """Records, one at a time, and batches of simple lines, ``(first, lines)``, as they come.

    A quoted field may span lines. Never raises on bad input.
    """
    carry: list[str] = []  # the lines of a row still inside a quoted field at the end of a piece
    carry_first = 0
    for first, lines, problem, text in source.pieces():
        if text is not None:
            if not carry:
                yield first, lines
                continue
            lines = io.StringIO(text, newline="\n").readlines()  # the rest of a quoted field may be here
        if carry:
            first, lines, carry = carry_first, carry + lines, []
        rest = (yield from _scan(lines, first, False)) if lines else None
        if rest is None:
            if problem is not None:
                yield problem.number, None, (problem.reason, problem.raw)
        elif problem is None:
            carry, carry_first = lines[rest:], first + rest
        else:  # a later line of a row whose quoted field spans lines
            raws = [line.rstrip("\r\n")[:RAW_LIMIT] for line in lines[rest:]]
            raws.append(problem.raw)
            reason = f"line {problem.number}, inside a quoted field of the row starting here: {problem.reason}"
            yield first + rest, None, (reason, "\n".join(raws)[:RAW_LIMIT])
    if carry:
        yield from _scan(carry, carry_first, True)


# --- Field checks ----------------------------------------------------------------------------


class _Bad(Exception):
    """A field's problem: the reason a person can act on."""


_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}:?\d{2})?", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_WHOLE = re.compile(r"[+-]?\d+", re.ASCII)
_AMOUNT = re.compile(r"[+-]?\d+(?:\.\d+)?", re.ASCII)


def _ref_ok(value: str) -> bool:
    """No white space or control characters (every white space character but " " is not printable)."""
    return value.isprintable() and " " not in value


def _ref(value: str) -> str:
    if len(value) > MAX_REF_LENGTH:
        raise _Bad(f"must be at most {MAX_REF_LENGTH} characters, not {len(value)}")
    if not _ref_ok(value):
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
    # PostgreSQL cannot store NUL in text, and no counterparty or description needs one.
    if "\x00" in value:
        raise _Bad("contains a NUL character (\\x00), which is not text")
    return value


# --- Rows, checked field by field: the reference, and every reason ---------------------------------


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
        elif actual_end - actual_start > _DAY:
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


# --- Rows, the quick way: the common good row, or None to go the reference way ---------------------
#
# Each checker takes a row's raw values in column order ("" for an absent column), as
# they come from the CSV reader (not trimmed). It answers only when it is sure that
# the reference checks above accept the row, with the same row and content hash (the
# tests compare the two ways); anything unusual (white space to trim, a bad value) it
# leaves to them. Each distinct time, date, amount and spelling is checked once.

_QuickCheck = Callable[[tuple[str, ...], str, int], "Accepted[object] | None"]
_Memo = tuple[Callable[[str], "tuple[T, str] | None"], Callable[[str], "tuple[T, str] | None"]]


def _memo(check: Callable[[str], T], segment: Callable[[T], str], limit: int) -> _Memo[T]:
    """``get`` and ``miss`` for ``get(value) or miss(value)``: the checked value and its part of
    the canonical text, or None for a bad value. Remembers up to ``limit`` good values."""
    seen: dict[str, tuple[T, str]] = {}

    def miss(value: str) -> tuple[T, str] | None:
        try:
            checked = check(value)
        except _Bad:
            return None
        if len(seen) >= limit:
            seen.clear()
        entry = seen[value] = (checked, segment(checked))
        return entry

    return seen.get, miss


def _spelling(choices: tuple[str, ...], column: str, limit: int) -> _Memo[str]:
    """An enumeration's spellings (any case) and their part of the canonical text."""
    return _memo(_choice(choices), lambda lowered: f"{_SEP}{column}={lowered}", limit)


_CLOCKS = {f"{m:02d}:{s:02d}": timedelta(minutes=m, seconds=s) for m in range(60) for s in range(60)}
_Moment = tuple[datetime, str]  # the time, and the canonical text of its instant


def _moments(limit: int) -> tuple[Callable[[str], _Moment | None], Callable[[str], _Moment | None]]:
    """``get`` and ``miss`` as :func:`_memo` gives for :func:`_moment`, remembering its hours.

    In the years allowed, every change of London's offset is on the hour, by whole
    hours, so a time is its hour's time plus its minutes and seconds: ``2026-10-25
    01:30:17`` is ``2026-10-25 01:00`` (checked and localised once for the hour) plus
    30 minutes 17 seconds, with the same instant, wall clock and fold that
    :func:`_moment` gives (the tests compare the two, across the changes). The hour
    is valid exactly when the time is, given minutes and seconds from 00 to 59.
    """
    seen: dict[str, _Moment] = {}  # times as given
    hours: dict[str, tuple[datetime, str | None]] = {}  # an hour, and its instant's text up to the minutes

    def hour_of(key: str, value: str) -> tuple[datetime, str | None] | None:
        try:
            moment = _moment(value)
        except _Bad:
            return None
        utc = moment.astimezone(UTC)
        if len(hours) >= limit:
            hours.clear()
        entry = hours[key] = (moment, utc.isoformat()[:14] if utc.minute == 0 else None)  # "2026-10-25T00:"
        return entry

    def miss(value: str) -> _Moment | None:
        size = len(value)
        clock = rest = None
        if size >= 16 and value[13] == ":":
            if size == 19:
                if value[16] == ":":
                    clock, rest = value[14:], ""
            elif size == 16:
                clock, rest = value[14:] + ":00", ""
            elif value[16] in "+-Z":
                clock, rest = value[14:16] + ":00", value[16:]
            elif size > 19 and value[16] == ":" and value[19] in "+-Z":
                clock, rest = value[14:19], value[19:]
        delta = _CLOCKS.get(clock) if clock is not None else None
        if delta is not None:
            hour = value[:13] + rest if rest else value[:13]  # the hour, with the value's offset if any
            base = hours.get(hour) or hour_of(hour, value[:13] + ":00" + rest)
            if base is None:
                return None
            if base[1] is not None:  # in UTC too, the hour starts on the hour
                entry = (base[0] + delta, f"{base[1]}{clock}+00:00")
                if clock[3:] == "00":  # a time with seconds is seldom seen twice
                    if len(seen) >= limit:
                        seen.clear()
                    seen[value] = entry
                return entry
        try:
            moment = _moment(value)
        except _Bad:
            return None
        entry = (moment, moment.astimezone(UTC).isoformat())
        if len(seen) >= limit:
            seen.clear()
        seen[value] = entry
        return entry

    return seen.get, miss


_MINUTES = {str(minutes): minutes for minutes in range(1, MAX_PLANNED_MINUTES + 1)}


def _quick_visits(limit: int) -> _QuickCheck:
    moment_get, moment_miss = _moments(limit)  # one memory for the three columns of times
    status_get, status_miss = _spelling(VISIT_STATUSES, "status", limit)
    minutes_get = _MINUTES.get
    new = _new
    sha = _sha256
    day = _DAY

    def check(values: tuple[str, ...], source: str, line: int) -> Accepted[VisitRow] | None:
        (visit_ref, person_ref, provider_ref, service_ref, carer_ref,
         planned_start, planned_minutes, actual_start, actual_end, status) = values  # fmt: skip
        refs = visit_ref + person_ref + provider_ref + service_ref + carer_ref
        if not (visit_ref and person_ref and provider_ref and service_ref and refs.isprintable()) or " " in refs:
            return None
        if len(refs) > MAX_REF_LENGTH and max(map(len, (visit_ref, person_ref, provider_ref, service_ref, carer_ref))) > MAX_REF_LENGTH:
            return None
        start = moment_get(planned_start) or moment_miss(planned_start)
        minutes = minutes_get(planned_minutes)
        lowered = status_get(status) or status_miss(status)
        if start is None or minutes is None or lowered is None:
            return None
        if actual_start:
            begun = moment_get(actual_start) or moment_miss(actual_start)
            if begun is None:
                return None
            if actual_end:
                ended = moment_get(actual_end) or moment_miss(actual_end)
                if ended is None:
                    return None
                began_at, ended_at = begun[0], ended[0]
                if ended_at < began_at or ended_at - began_at > day:
                    return None
                actual = f"\x1factual_start={begun[1]}\x1factual_end={ended[1]}"
            elif lowered[0] == "completed":
                return None
            else:
                began_at, ended_at, actual = begun[0], None, "\x1factual_start=" + begun[1]
        elif actual_end or lowered[0] == "completed":
            return None
        else:
            began_at = ended_at = None
            actual = ""
        row = new(
            VisitRow,
            (visit_ref, person_ref, provider_ref, service_ref, carer_ref or None, start[0], minutes, began_at, ended_at, lowered[0]),
        )
        if "\\" in refs:
            text = _canonical_text("visits", VISIT_COLUMNS, row)
        else:
            carer = "\x1fcarer_ref=" + carer_ref if carer_ref else ""
            text = (
                f"visits\x1fvisit_ref={visit_ref}\x1fperson_ref={person_ref}\x1fprovider_ref={provider_ref}"
                f"\x1fservice_ref={service_ref}{carer}\x1fplanned_start={start[1]}\x1fplanned_minutes={planned_minutes}{actual}{lowered[1]}"
            )
        return new(Accepted, (source, line, row, sha(text.encode()).hexdigest()))

    return check


def _quick_carers(limit: int) -> _QuickCheck:
    gender_get, gender_miss = _spelling(CARER_GENDERS, "gender", limit)
    new = _new
    sha = _sha256

    def check(values: tuple[str, ...], source: str, line: int) -> Accepted[CarerRow] | None:
        carer_ref, provider_ref, gender = values
        refs = carer_ref + provider_ref
        if not (carer_ref and provider_ref and refs.isprintable()) or " " in refs:
            return None
        if len(refs) > MAX_REF_LENGTH and max(len(carer_ref), len(provider_ref)) > MAX_REF_LENGTH:
            return None
        lowered = gender_get(gender) or gender_miss(gender)
        if lowered is None:
            return None
        row = new(CarerRow, (carer_ref, provider_ref, lowered[0]))
        if "\\" in refs:
            text = _canonical_text("carers", CARER_COLUMNS, row)
        else:
            text = f"carers\x1fcarer_ref={carer_ref}\x1fprovider_ref={provider_ref}{lowered[1]}"
        return new(Accepted, (source, line, row, sha(text.encode()).hexdigest()))

    return check


def _quick_transactions(limit: int) -> _QuickCheck:
    day_get, day_miss = _memo(_day, lambda day: f"\x1fdate={day.isoformat()}", limit)
    amount_get, amount_miss = _memo(_amount, lambda amount: f"\x1famount={format_money(amount)}", limit)
    new = _new
    sha = _sha256

    def check(values: tuple[str, ...], source: str, line: int) -> Accepted[TransactionRow] | None:
        txn_ref, account_ref, day, amount, counterparty, description = values
        refs = txn_ref + account_ref
        if not (txn_ref and account_ref and refs.isprintable()) or " " in refs:
            return None
        if len(refs) > MAX_REF_LENGTH and max(len(txn_ref), len(account_ref)) > MAX_REF_LENGTH:
            return None
        when = day_get(day) or day_miss(day)
        money = amount_get(amount) or amount_miss(amount)
        if when is None or money is None:
            return None
        counterparty = counterparty.strip()
        description = description.strip()
        row = new(TransactionRow, (txn_ref, account_ref, when[0], money[0], counterparty or None, description or None))
        free = counterparty + description
        if "\x00" in free:
            return None  # refused by the field-by-field path, with its reason
        if "\\" in refs or "\\" in free or _SEP in free:
            text = _canonical_text("transactions", TRANSACTION_COLUMNS, row)
        else:
            text = f"transactions\x1ftxn_ref={txn_ref}\x1faccount_ref={account_ref}{when[1]}{money[1]}"
            if counterparty:
                text += "\x1fcounterparty=" + counterparty
            if description:
                text += "\x1fdescription=" + description
        return new(Accepted, (source, line, row, sha(text.encode("utf-8", "surrogatepass")).hexdigest()))

    return check


@dataclass(frozen=True)
class _Kind:
    name: str
    columns: tuple[str, ...]
    optional: frozenset[str]
    build: Callable[[_Row], object | None]  # the reference checks
    quick: Callable[[int], _QuickCheck]  # a quick checker, remembering up to so many values
    whole_numbers: frozenset[str]  # columns that take a JSON integer too


_VISITS = _Kind("visits", VISIT_COLUMNS, VISIT_OPTIONAL, _visit, _quick_visits, frozenset({"planned_minutes"}))
_CARERS = _Kind("carers", CARER_COLUMNS, frozenset(), _carer, _quick_carers, frozenset())
_TRANSACTIONS = _Kind(
    "transactions", TRANSACTION_COLUMNS, TRANSACTION_OPTIONAL, _transaction, _quick_transactions, frozenset({"amount"})
)


# --- The parsers -----------------------------------------------------------------------------


def _parse(stream: IO[bytes], *, source: str, kind: _Kind, on_progress: ProgressHook | None) -> Iterator[RowResult[T]]:
    columns = kind.columns
    reader = _Source(stream, on_progress)
    items = _items(reader)

    def file_problem(line: int, reason: str, raw: str = "") -> Rejection:
        return Rejection(source, line, "", reason, raw)

    head: _Record | None = None
    first_lines: list[tuple[int, list[str]]] = []  # the rest of a batch the header came in
    for item in items:
        if len(item) == 2:
            first, lines = item  # type: ignore[misc]
            head = (first, lines[0].split(","), lines[0])
            first_lines.append((first + 1, lines[1:]))
        else:
            head = item  # type: ignore[assignment]
        break
    if head is None:
        reader.finish()
        yield file_problem(0, f"the file is empty: a header row naming the columns ({','.join(columns)}) is required")
        return
    head_line, head_fields, head_text = head
    if head_fields is None:
        reader.finish()
        reason, raw = head_text
        yield file_problem(head_line, f"the header row cannot be read: {reason}", raw)
        return
    raw = _raw_of(head_text)
    names = [name.strip().lower() for name in head_fields]
    if not any(names):
        reader.finish()
        yield file_problem(head_line, "line 1 is blank: the header row naming the columns must be the first line", raw)
        return
    known = [name for name in names if name in columns]
    if not known:
        reader.finish()
        yield file_problem(head_line, f"there is no header row: line 1 names none of the columns {', '.join(columns)}", raw)
        return
    seen: set[str] = set()
    duplicates: list[str] = []
    for name in names:
        if name and name in seen and name not in duplicates:
            duplicates.append(name)
        seen.add(name)
    if duplicates:
        reader.finish()
        yield file_problem(head_line, f"the header names {', '.join(duplicates)} more than once", raw)
        return
    missing = [column for column in columns if column not in kind.optional and column not in seen]
    if missing:
        reader.finish()
        yield file_problem(head_line, f"the header is missing the required column(s): {', '.join(missing)}", raw)
        return

    index = {name: i for i, name in enumerate(names) if name in columns}
    width = len(names)
    pad = len(index) < len(columns)  # an optional column is absent: its values come from an added ""
    # The values in column order: the fields themselves when the header is in that order.
    pick = None if names == list(columns) else itemgetter(*(index.get(column, width) for column in columns))
    quick = kind.quick(_CACHE_LIMIT)
    build = kind.build
    split = str.split
    commas = repeat(",")

    def slow(line: int, fields: list[str], text: str | tuple[str, ...]) -> Iterator[RowResult[T]]:
        """A row the quick check left: skipped, or checked field by field."""
        if not any(field.strip() for field in fields):
            return  # a blank line or an empty spreadsheet row
        if len(fields) != width:
            more_or_fewer = "more" if len(fields) > width else "fewer"
            reason = f"has {len(fields)} fields, {more_or_fewer} than the {width} columns of the header"
            yield Rejection(source, line, "", reason, _raw_of(text))
            return
        row = _Row({column: fields[i] for column, i in index.items()})
        built = build(row)
        if built is None:
            raw = _raw_of(text)
            for column in columns:
                if column in row.problems:
                    yield Rejection(source, line, column, row.problems[column], raw)
            return
        yield _new(Accepted, (source, line, built, content_hash_of(built)))  # type: ignore[arg-type]

    for item in chain(first_lines, items):
        if len(item) == 2:  # a batch of simple lines: one record each
            first, lines = item  # type: ignore[misc]
            for line, fields in enumerate(map(split, lines, commas), first):
                if len(fields) == width:
                    if pad:
                        fields.append("")
                    accepted = quick(fields if pick is None else pick(fields), source, line)
                    if accepted is not None:
                        yield accepted
                        continue
                    if pad:
                        fields.pop()
                yield from slow(line, fields, lines[line - first])
            continue
        line, fields, text = item  # type: ignore[misc]
        if fields is None:
            reason, raw = text
            yield Rejection(source, line, "", reason, raw)
            continue
        if len(fields) == width:
            if pad:
                fields.append("")
            accepted = quick(fields if pick is None else pick(fields), source, line)
            if accepted is not None:
                yield accepted
                continue
            if pad:
                fields.pop()
        yield from slow(line, fields, text)
    reader.finish()


def parse_visits(stream: IO[bytes], *, source: str, on_progress: ProgressHook | None = None) -> Iterator[RowResult[VisitRow]]:
    """Visits (section 3): ``visit_ref,person_ref,provider_ref,service_ref,carer_ref,planned_start,...``."""
    return _parse(stream, source=source, kind=_VISITS, on_progress=on_progress)


def parse_carers(stream: IO[bytes], *, source: str, on_progress: ProgressHook | None = None) -> Iterator[RowResult[CarerRow]]:
    """Carers (section 3): ``carer_ref,provider_ref,gender``."""
    return _parse(stream, source=source, kind=_CARERS, on_progress=on_progress)


def parse_transactions(
    stream: IO[bytes], *, source: str, on_progress: ProgressHook | None = None
) -> Iterator[RowResult[TransactionRow]]:
    """Account transactions (section 4): ``txn_ref,account_ref,date,amount,counterparty,description``."""
    return _parse(stream, source=source, kind=_TRANSACTIONS, on_progress=on_progress)


# --- One item of the JSON push API -------------------------------------------------------------

_JSON_QUICK = {kind.name: kind.quick(_JSON_CACHE_LIMIT) for kind in (_VISITS, _CARERS, _TRANSACTIONS)}
_ITEM_REPR = reprlib.Repr()
_ITEM_REPR.maxlevel = 2
_ITEM_REPR.maxdict = 10
_ITEM_REPR.maxlist = 10
_ITEM_REPR.maxstring = 120
_ITEM_REPR.maxother = 120
_ITEM_REPR.maxlong = 40


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, float | Decimal):
        return "a number with a fraction"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _item_raw(fields: Mapping[str, object]) -> str:
    """A short repr of an item, its keys in its own order, for a Rejection's ``raw``."""
    parts: list[str] = []
    size = 0
    try:
        for key, value in fields.items():
            parts.append(f"{_ITEM_REPR.repr(key)}: {_ITEM_REPR.repr(value)}")
            size += len(parts[-1]) + 2
            if size > RAW_LIMIT:
                break
    except Exception:  # noqa: BLE001 - a mapping that cannot be shown must not stop the check
        parts.append("...")
    return ("{" + ", ".join(parts) + "}")[:RAW_LIMIT]


def _item_value(kind: _Kind, column: str, value: object) -> tuple[str, str | None]:
    """The value as the CSV reader would give it, and why it cannot be one."""
    if value is None:
        return "", None
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "", "is not valid Unicode text (it has a lone surrogate, such as \\ud800)"
        return value, None
    if column == "amount" and isinstance(value, float | Decimal):
        return "", f"{value!r} is a number with a fraction: send amounts as a decimal string, such as \"-12.50\""
    if column in kind.whole_numbers and isinstance(value, int) and not isinstance(value, bool):
        if -(10**18) < value < 10**18:
            return str(value), None
        return "", "is far out of range"
    allowed = "a string or a whole number" if column in kind.whole_numbers else "a string"
    return "", f"must be {allowed}, not {_json_type(value)}"


def _check_item(kind: _Kind, fields: Mapping[str, object], source: str, line: int) -> Accepted[object] | list[Rejection]:
    values: list[str] = []
    wrong: dict[str, str] = {}
    for column in kind.columns:
        value, problem = _item_value(kind, column, fields.get(column))
        values.append(value)
        if problem is not None:
            wrong[column] = problem
    if not wrong:
        accepted = _JSON_QUICK[kind.name](tuple(values), source, line)
        if accepted is not None:
            return accepted
    row = _Row(dict(zip(kind.columns, values, strict=True)))
    built = kind.build(row)
    if built is not None and not wrong:
        return _new(Accepted, (source, line, built, content_hash_of(built)))  # type: ignore[arg-type]
    problems = row.problems | wrong  # a value of the wrong type, rather than "is required"
    raw = _item_raw(fields)
    return [Rejection(source, line, column, problems[column], raw) for column in kind.columns if column in problems]


def check_visit(fields: Mapping[str, object], *, source: str, line: int) -> Accepted[VisitRow] | list[Rejection]:
    """One visit given as a mapping of column names to values (a JSON item); ``line`` is its index."""
    return _check_item(_VISITS, fields, source, line)  # type: ignore[return-value]


def check_carer(fields: Mapping[str, object], *, source: str, line: int) -> Accepted[CarerRow] | list[Rejection]:
    """One carer given as a mapping of column names to values (a JSON item); ``line`` is its index."""
    return _check_item(_CARERS, fields, source, line)  # type: ignore[return-value]


def check_transaction(fields: Mapping[str, object], *, source: str, line: int) -> Accepted[TransactionRow] | list[Rejection]:
    """One transaction given as a mapping of column names to values (a JSON item); ``line`` is its index."""
    return _check_item(_TRANSACTIONS, fields, source, line)  # type: ignore[return-value]
