"""OFX bank and credit-card statements: direct-payment accounts and prepaid cards.

One call reads a whole statement file (OFX 1.x SGML or OFX 2.x XML) and never
raises on bad input::

    result = parse_ofx(stream, source="july.ofx")
    for row in result.rows:
        if isinstance(row, Rejection): ...    # where (source, line, field) and why
        else: row.row, row.line, row.content_hash
    for balance in result.balances: ...      # each statement's closing (ledger) balance

Transactions come out as the same :class:`~careledger.formats.delivery_csv.TransactionRow`
as the transactions CSV gives, with the same checks and the same content hash, so a
transaction delivered once as CSV and once as OFX is recognised as the same.

Decisions, made once here:

* **Reading.** ``ofxtools`` reads the header and the tag soup (both OFX versions);
  the typed conversion of each value (dates, text) is ofxtools' too, but it is done
  field by field rather than through ``OFXTree.convert()``, which fails the whole
  file on one bad transaction. At most :data:`MAX_OFX_BYTES` are read; a bigger
  file is refused whole. A UTF-8 byte order mark is accepted. A text (not binary)
  file object is a programming error: :class:`TypeError`, as for the CSV parsers.
* **The file as a whole.** A file that is empty, too big, not OFX, with a bad
  header, not in its declared character set, malformed (tags closed out of order,
  text between tags), truncated (elements left open at the end), or without any
  bank (``<STMTRS>``) or credit-card (``<CCSTMTRS>``) statement gives one
  :class:`Rejection` at line 0, field ``""``, and nothing else (its reason names
  the line of a malformed tag; its ``raw`` is the file's first line).
* **Lines.** OFX has no rows, so the ``line`` of an accepted transaction or a
  rejection is the 1-based line of the file on which its ``<STMTTRN>`` tag
  starts (``<STMTRS>``/``<CCSTMTRS>`` for a statement's problem, ``<LEDGERBAL>``
  for a balance's); a file whose only line breaks are ``\\r`` counts those.
* **Mapping.** ``txn_ref`` is ``FITID``; ``account_ref`` is the statement's
  ``BANKACCTFROM``/``CCACCTFROM`` ``ACCTID``; ``date`` is the London date
  (Europe/London) of ``DTPOSTED`` (which OFX gives in UTC unless it says
  otherwise): 23:30 UTC on 14 July is 15 July; ``amount`` is ``TRNAMT`` exactly,
  signed as OFX signs it (money out negative); ``counterparty`` is ``NAME``, else
  ``PAYEE``'s ``NAME``; ``description`` is ``MEMO``. Empty text is ``None``;
  entities (``&amp;``) are decoded. ``TRNTYPE``, ``DTUSER`` and the rest are not used.
* **Checks, as the transactions CSV.** ``FITID`` and ``ACCTID`` are references:
  required, at most :data:`~careledger.formats.delivery_csv.MAX_REF_LENGTH`
  characters, no spaces or control characters. ``TRNAMT`` is an amount with at
  most two decimal places (a decimal comma, which OFX allows, is read as a point),
  through :func:`~careledger.domain.money.parse_money`. ``DTPOSTED`` is required
  and must fall in the years 1900 to 2999. A transaction with problems gives one
  Rejection per field in trouble (``txn_ref``, ``date``, ``amount``, in that
  order), and the other transactions are still read. A Rejection's ``raw`` is the
  transaction (or statement, or balance) written out as compact SGML.
* **Statements.** A statement whose account is missing or bad gives one Rejection
  (field ``account_ref``) and none of its transactions or balance are read; so
  does one whose ``CURDEF`` is not ``GBP`` (field ``""``). A transaction in
  another currency (its own ``<CURRENCY>``) is rejected on ``amount``.
* **Balances.** Each statement's ``LEDGERBAL`` gives a :class:`ClosingBalance`:
  ``BALAMT`` (checked as ``TRNAMT``) as of the London date of ``DTASOF``. A bad one
  is a Rejection with field ``balance``; a statement without one gives no balance.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, Any, TypeVar

from ofxtools import Types
from ofxtools.header import OFXHeaderError
from ofxtools.Parser import OFXTree, ParseError, TreeBuilder

from careledger.domain.localtime import LONDON
from careledger.domain.money import Decimal, MoneyError, parse_money
from careledger.formats import delivery_csv
from careledger.formats.delivery_csv import (
    MAX_REF_LENGTH,
    RAW_LIMIT,
    TRANSACTION_COLUMNS,
    Accepted,
    Rejection,
    TransactionRow,
)

__all__ = ["MAX_OFX_BYTES", "ClosingBalance", "OfxStatementResult", "parse_ofx"]

# ofxtools holds the whole file, its text and an element tree: about 20 times the file in memory,
# and about 2 seconds a MiB. 10 MiB is some 80,000 transactions, far more than any one statement.
MAX_OFX_BYTES = 10 * 1024 * 1024
FIRST_YEAR, LAST_YEAR = 1900, 2999  # as the delivery CSV files
CURRENCY = "GBP"

_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_READ_CHUNK = 1 << 20
_STATEMENTS = {"STMTRS": "BANKACCTFROM", "CCSTMTRS": "CCACCTFROM"}
_NOTED = frozenset({"STMTTRN", "LEDGERBAL", *_STATEMENTS})  # the tags whose line is kept
_AMOUNT = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)", re.ASCII)
_POSITION = re.compile(r" - position=\[\d+:\d+\]$")

T = TypeVar("T")


@dataclass(frozen=True)
class ClosingBalance:
    """A statement's ledger balance (``LEDGERBAL``): the account's balance at ``DTASOF``, on London date ``as_of``."""

    account_ref: str
    as_of: date  # the London date of DTASOF
    amount: Decimal


@dataclass(frozen=True)
class OfxStatementResult:
    rows: list[Accepted[TransactionRow] | Rejection]  # in the file's order
    balances: list[ClosingBalance]  # one per statement with a good LEDGERBAL, in the file's order


def _content_hash(row: TransactionRow) -> str:
    """The transactions CSV's own hash, so one transaction from CSV and from OFX hashes the same."""
    return delivery_csv._content_hash("transactions", TRANSACTION_COLUMNS, row)


def parse_ofx(stream: IO[bytes], *, source: str) -> OfxStatementResult:
    """Read one OFX file (a binary file object) into transactions, rejections and closing balances."""
    data, too_big = _read(stream)

    def refuse(reason: str) -> OfxStatementResult:
        return OfxStatementResult([Rejection(source, 0, "", reason, _first_line(data))], [])

    if too_big:
        return refuse(f"the file is more than {MAX_OFX_BYTES:,} bytes long; OFX statements that big are not read")
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if not data.strip():
        return refuse("the file is empty: an OFX statement is needed")
    if data.startswith(_UTF16_BOMS):
        return refuse("the file is UTF-16 (it starts with a UTF-16 byte order mark); OFX files are ASCII or UTF-8")
    builder = _Builder(_newline(data))
    try:
        root = OFXTree().parse(io.BytesIO(data), parser=builder)
    except Exception as error:  # ofxtools raises many kinds on bad input; none may escape
        return refuse(_reason(error, builder, data))
    if root.tag != "OFX":
        return refuse(f"the file is not OFX: its body is <{root.tag}>, not <OFX>")
    statements = [element for element in root.iter() if element.tag in _STATEMENTS]
    if not statements:
        return refuse(_no_statement_reason(root))
    offset = builder.lines_before_body(data)
    rows: list[Accepted[TransactionRow] | Rejection] = []
    balances: list[ClosingBalance] = []
    for statement in statements:
        _statement(statement, source, offset, builder, rows, balances)
    return OfxStatementResult(rows, balances)


# --- Reading the file ------------------------------------------------------------------------


def _read(stream: IO[bytes]) -> tuple[bytes, bool]:
    """At most MAX_OFX_BYTES of the stream, and whether there was more."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_OFX_BYTES:
        chunk = stream.read(min(_READ_CHUNK, MAX_OFX_BYTES + 1 - size))
        if not isinstance(chunk, bytes | bytearray):
            raise TypeError("parse_ofx reads a binary file object (open it with 'rb')")
        if not chunk:
            break
        chunks.append(bytes(chunk))
        size += len(chunk)
    return b"".join(chunks), size > MAX_OFX_BYTES


def _newline(data: bytes) -> str:
    """What ends a line: ``\\n`` (after ``\\r`` or not), or ``\\r`` in a file that has no ``\\n``."""
    return "\n" if b"\n" in data or b"\r" not in data else "\r"


class _Positions:
    """Stands in for ofxtools' tag regex, keeping the builder's line up to date as tags are matched."""

    def __init__(self, builder: _Builder) -> None:
        self.builder = builder

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        builder = self.builder
        builder.body = text
        newline = builder.newline
        last = 0
        for match in TreeBuilder.regex.finditer(text):
            builder.line += text.count(newline, last, match.start())
            last = match.start()
            yield match


class _Builder(TreeBuilder):
    """ofxtools' tag-soup builder, strict about nesting and truncation, noting where some tags are.

    ofxtools (through ``xml.etree``'s TreeBuilder) lets an end tag close whatever is
    open and returns a half-built tree from a truncated file; both are refused here.
    """

    def __init__(self, newline: str) -> None:
        super().__init__()
        self.regex = _Positions(self)  # ofxtools' feed() reads self.regex
        self.newline = newline
        self.body = ""
        self.line = 1  # in the body, of the tag being read
        self.open: list[str] = []
        self.finished = False
        self.lines: dict[ET.Element, int] = {}

    def start(self, tag: str, attrs: dict[str, str], *args: Any) -> ET.Element:
        if self.finished:
            raise ParseError(f"<{tag}> after the end of the <OFX> body")
        element = super().start(tag, attrs, *args)
        self.open.append(tag)
        if tag in _NOTED:
            self.lines[element] = self.line
        return element

    def end(self, tag: str) -> ET.Element:
        if not self.open:
            raise ParseError(f"</{tag}> closes nothing")
        if self.open[-1] != tag:
            raise ParseError(f"</{tag}> where </{self.open[-1]}> was expected (is a value missing from <{self.open[-1]}>?)")
        self.open.pop()
        self.finished = not self.open
        return super().end(tag)

    def close(self) -> ET.Element:
        if self.open:
            raise ParseError(f"the file ends inside <{self.open[-1]}> ({len(self.open)} element(s) left open): is it truncated?")
        root = super().close()
        if root is None:
            raise ParseError("there is an OFX header but no <OFX> body after it")
        return root

    def lines_before_body(self, data: bytes) -> int:
        """Lines of the file before the body ofxtools parsed (its header, and blank lines it stripped)."""
        newline = self.newline
        in_file = data.count(newline.encode())
        in_body = self.body.count(newline)
        # ofxtools strips whitespace from the end of an OFX 1 body; those line breaks are not before it.
        stripped = data[len(data.rstrip()) :].count(newline.encode()) - _trailing(self.body).count(newline)
        return in_file - in_body - max(stripped, 0)


def _trailing(text: str) -> str:
    return text[len(text.rstrip()) :]


def _first_line(data: bytes) -> str:
    head = data[: RAW_LIMIT * 4].removeprefix(_BOM).lstrip()
    return head.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r")[:RAW_LIMIT]


def _reason(error: Exception, builder: _Builder, data: bytes) -> str:
    if isinstance(error, OFXHeaderError):
        detail = str(error)
        if detail.startswith("Invalid OFX header - ") and not detail.startswith("Invalid OFX header - <"):
            detail = detail.removeprefix("Invalid OFX header - ").replace(" is not OneOf ", " is not one of ")
            return f"the OFX header is not valid: {detail[:200]}"
        return (
            "the file is not OFX: it does not start with an OFX header "
            '(OFXHEADER:100 for OFX 1, or <?xml ...?> and <?OFX OFXHEADER="200" ...?> for OFX 2)'
        )
    if isinstance(error, UnicodeDecodeError):
        bad = error.object[error.start]
        if error.encoding == "ascii":
            return f"the file is not OFX: its header is not ASCII text (byte 0x{bad:02X})"
        return f"the file is not in the character set its OFX header declares: byte 0x{bad:02X} cannot be read"
    if isinstance(error, ParseError):
        detail = _POSITION.sub("", str(error))
        if detail.startswith("Tail text "):  # "... after </TAG>", or "... in <the whole body>"
            text, after, tag = detail.removeprefix("Tail text ").partition(" after ")
            detail = f"unexpected text {text} after {tag}" if after else f"unexpected text {text.split(' in ', 1)[0]} between tags"
        if detail.startswith("the file ends inside") or detail.startswith("there is an OFX header"):
            return detail
        line = builder.lines_before_body(data) + builder.line
        return f"the OFX is malformed at line {line}: {detail[:200]}"
    return f"the file cannot be read as OFX ({type(error).__name__}: {str(error)[:200]})"


def _no_statement_reason(root: ET.Element) -> str:
    for response in root.iter():
        if response.tag in ("STMTTRNRS", "CCSTMTTRNRS"):
            code = _text(response.find("STATUS/CODE"))
            if code not in (None, "0"):
                message = _text(response.find("STATUS/MESSAGE"))
                said = f": {message}" if message else ""
                return f"the file has no statement: the bank reports error {code}{said}"
    return "the file has no bank or credit-card statement (no <STMTRS> or <CCSTMTRS>)"


# --- Values ------------------------------------------------------------------------------


class _Bad(Exception):
    """A value's problem: the reason a person can act on."""


_STRING = Types.String()
_DATETIME = Types.DateTime()


def _text(element: ET.Element | None) -> str | None:
    """An element's text, entities decoded; None when absent or empty."""
    if element is None or not element.text:
        return None
    value = element.text
    if "&" in value:  # ofxtools' decoding of &amp; &lt; &gt; &nbsp; &apos; &quot;
        value = _STRING.convert(value)
    return value.strip() or None


def _required(element: ET.Element | None, tag: str) -> str:
    """The text of ``element``, found as ``tag``."""
    value = _text(element)
    if value is None:
        raise _Bad(f"is required (no <{tag}>)" if element is None else f"is required (<{tag}> is empty)")
    return value


def _ref(value: str) -> str:
    if len(value) > MAX_REF_LENGTH:
        raise _Bad(f"must be at most {MAX_REF_LENGTH} characters, not {len(value)}")
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise _Bad(f"{value!r} must not contain spaces or control characters")
    return value


def _amount(value: str) -> Decimal:
    if not _AMOUNT.fullmatch(value):
        raise _Bad(f"{value!r} is not an amount such as -12.50")
    try:
        return parse_money(value.replace(",", "."))
    except MoneyError as error:
        raise _Bad(str(error)) from None


def _london_date(value: str) -> date:
    try:
        moment = _DATETIME.convert(value)
    except (ValueError, OverflowError, TypeError):
        raise _Bad(f"{value!r} is not an OFX date and time such as 20260715 or 20260715093000[0:GMT]") from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise _Bad(f"{value!r} is out of range: the year must be from {FIRST_YEAR} to {LAST_YEAR}")
    return moment.astimezone(LONDON).date()


def _render(element: ET.Element) -> str:
    """An element as compact SGML, cut at RAW_LIMIT characters, for a Rejection's ``raw``."""
    parts: list[str] = []
    size = 0

    def walk(node: ET.Element) -> Iterator[str]:
        yield f"<{node.tag}>"
        if node.text:
            yield node.text
        if len(node):
            for child in node:
                yield from walk(child)
            yield f"</{node.tag}>"

    for part in walk(element):
        parts.append(part)
        size += len(part)
        if size >= RAW_LIMIT:
            break
    return "".join(parts)[:RAW_LIMIT]


# --- Statements and transactions ---------------------------------------------------------


def _statement(
    statement: ET.Element,
    source: str,
    offset: int,
    builder: _Builder,
    rows: list[Accepted[TransactionRow] | Rejection],
    balances: list[ClosingBalance],
) -> None:
    def line_of(element: ET.Element) -> int:
        return offset + builder.lines[element]

    transactions = statement.findall("BANKTRANLIST/STMTTRN")
    unread = f"its {len(transactions)} transaction(s) and closing balance are not read"
    currency = _text(statement.find("CURDEF"))
    if currency is not None and currency.upper() != CURRENCY:
        reason = f"the statement is in {currency} (CURDEF), not {CURRENCY}: {unread}"
        rows.append(Rejection(source, line_of(statement), "", reason, _render(statement)))
        return
    account_tag = f"{_STATEMENTS[statement.tag]}/ACCTID"
    try:
        account_ref = _ref(_required(statement.find(account_tag), account_tag))
    except _Bad as bad:
        reason = f"{bad}: {unread}"
        rows.append(Rejection(source, line_of(statement), "account_ref", reason, _render(statement)))
        return
    for transaction in transactions:
        rows.extend(_transaction(transaction, account_ref, source, line_of(transaction)))
    ledger = statement.find("LEDGERBAL")
    if ledger is not None:
        problems: dict[str, str] = {}
        amount = _check(problems, "BALAMT", lambda: _amount(_required(ledger.find("BALAMT"), "BALAMT")))
        as_of = _check(problems, "DTASOF", lambda: _london_date(_required(ledger.find("DTASOF"), "DTASOF")))
        if problems:
            reason = "; ".join(f"{tag} {problem}" for tag, problem in problems.items())
            rows.append(Rejection(source, line_of(ledger), "balance", reason, _render(ledger)))
        else:
            assert amount is not None and as_of is not None
            balances.append(ClosingBalance(account_ref, as_of, amount))


def _check(problems: dict[str, str], field: str, get: Callable[[], T]) -> T | None:
    """``get()``, or None with its problem noted against ``field``."""
    try:
        return get()
    except _Bad as bad:
        problems[field] = str(bad)
        return None


def _transaction(element: ET.Element, account_ref: str, source: str, line: int) -> list[Accepted[TransactionRow] | Rejection]:
    problems: dict[str, str] = {}
    fields: dict[str, ET.Element] = {}
    for child in element:
        fields.setdefault(child.tag, child)  # the first of each; one pass over the transaction
    txn_ref = _check(problems, "txn_ref", lambda: _ref(_required(fields.get("FITID"), "FITID")))
    day = _check(problems, "date", lambda: _london_date(_required(fields.get("DTPOSTED"), "DTPOSTED")))
    amount = _check(problems, "amount", lambda: _amount(_required(fields.get("TRNAMT"), "TRNAMT")))
    currency = _text(element.find("CURRENCY/CURSYM")) if "CURRENCY" in fields else None
    if currency is not None and currency.upper() != CURRENCY:
        problems.setdefault("amount", f"is in {currency} (the transaction's CURRENCY), not {CURRENCY}")
    if problems:
        raw = _render(element)
        return [Rejection(source, line, field, reason, raw) for field, reason in problems.items()]
    assert txn_ref is not None and day is not None and amount is not None
    counterparty = _text(fields.get("NAME")) or (_text(element.find("PAYEE/NAME")) if "PAYEE" in fields else None)
    row = TransactionRow(txn_ref, account_ref, day, amount, counterparty, _text(fields.get("MEMO")))
    return [Accepted(source, line, row, _content_hash(row))]
