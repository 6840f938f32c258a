"""OFX statements (bank and credit-card, OFX 1 SGML and OFX 2 XML): rows as the transactions CSV, balances, rejections."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from careledger.formats import ofx_statement
from careledger.formats.delivery_csv import Accepted, Rejection, TransactionRow, parse_transactions
from careledger.formats.ofx_statement import ClosingBalance, OfxStatementResult, parse_ofx

DATA = Path(__file__).resolve().parent.parent / "data" / "ofx"
TXN_HEADER = "txn_ref,account_ref,date,amount,counterparty,description"
HEADER_V1 = (
    "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:NONE\n"
    "COMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n"
)  # 10 lines: a body starting right after it starts on line 11


def parse_file(name: str) -> OfxStatementResult:
    with (DATA / name).open("rb") as stream:
        return parse_ofx(stream, source=name)


def parse_text(text: str | bytes, source: str = "inline.ofx") -> OfxStatementResult:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_ofx(io.BytesIO(data), source=source)


def bank_file(*transactions: str, account: str = "<ACCTID>A-1", curdef: str = "GBP", ledger: str = "") -> str:
    """An OFX 1 bank statement; line 11 is <OFX>, line 12 <STMTRS>, each transaction one line from line 15."""
    lines = [
        "<OFX>",
        "<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS><STMTRS>",
        f"<CURDEF>{curdef}<BANKACCTFROM><BANKID>1{account}<ACCTTYPE>CHECKING</BANKACCTFROM>",
        "<BANKTRANLIST><DTSTART>20260101<DTEND>20260131",
        *transactions,
        "</BANKTRANLIST>",
        ledger,
        "</STMTRS></STMTTRNRS></BANKMSGSRSV1>",
        "</OFX>",
    ]
    return HEADER_V1 + "\n".join(lines) + "\n"


def trn(fitid: str = "T1", dtposted: str = "20260105", amount: str = "-12.50", extra: str = "<NAME>SHOP") -> str:
    return f"<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>{dtposted}<TRNAMT>{amount}<FITID>{fitid}{extra}</STMTTRN>"


def accepted(result: OfxStatementResult) -> list[tuple[int, TransactionRow]]:
    assert all(isinstance(r, Accepted) for r in result.rows), result.rows
    return [(r.line, r.row) for r in result.rows]


def rejections(result: OfxStatementResult) -> list[tuple[int, str, str]]:
    return [(r.line, r.field, r.reason) for r in result.rows if isinstance(r, Rejection)]


def file_rejection(result: OfxStatementResult) -> str:
    """The reason of the one whole-file Rejection (line 0, field "") a bad file gives."""
    assert result.balances == []
    [rejection] = result.rows
    assert isinstance(rejection, Rejection)
    assert (rejection.line, rejection.field) == (0, "")
    return rejection.reason


# --- Good statements ---------------------------------------------------------------------


def test_an_ofx1_bank_statement_parses_exactly() -> None:
    result = parse_file("bank_statement_v102.ofx")
    account = "DP-00012345"
    assert accepted(result) == [
        (39, TransactionRow("202607010001", account, date(2026, 7, 1), Decimal("1250.00"), "NORTHSHIRE COUNCIL", "Direct payment July 2026")),
        (47, TransactionRow("202607030001", account, date(2026, 7, 3), Decimal("-642.50"), "BRIGHT HOMECARE LTD", "INV-0612 June visits")),
        (55, TransactionRow("202607100001", account, date(2026, 7, 10), Decimal("-200.00"), "CASH WITHDRAWAL", "LINK ATM HIGH ST NORTHTOWN")),
        (63, TransactionRow("202607150001", account, date(2026, 7, 15), Decimal("-45.00"), "BETWAY LTD", "CARD PAYMENT ONLINE")),
        # PAYEE's name when there is no NAME; &amp; decoded; É read as Windows-1252, as the header says; no MEMO.
        (71, TransactionRow("202607200001", account, date(2026, 7, 20), Decimal("-30.00"), "OAK LODGE DAY CENTRE & CAFÉ", None)),
    ]
    assert result.balances == [ClosingBalance(account, date(2026, 7, 31), Decimal("332.50"))]
    assert {r.source for r in result.rows} == {"bank_statement_v102.ofx"}
    assert all(len(r.content_hash) == 64 for r in result.rows)
    assert len({r.content_hash for r in result.rows}) == 5


def test_a_summer_posting_at_2330_utc_is_the_next_london_day() -> None:
    row = accepted(parse_file("bank_statement_v102.ofx"))[3][1]
    assert row.txn_ref == "202607150001"  # DTPOSTED 20260714233000[0:GMT] is 00:30 BST on the 15th
    assert row.date == date(2026, 7, 15)


def test_amounts_are_exact_decimals_signed_as_in_the_file() -> None:
    rows = [row for _, row in accepted(parse_file("bank_statement_v102.ofx"))]
    assert [str(row.amount) for row in rows] == ["1250.00", "-642.50", "-200.00", "-45.00", "-30.00"]
    assert sum(row.amount for row in rows) == Decimal("332.50")  # the closing balance


def test_an_ofx2_credit_card_statement_parses_exactly() -> None:
    result = parse_file("card_statement_v220.ofx")
    card = "PPC-4921"  # CCACCTFROM's ACCTID
    assert accepted(result) == [
        (23, TransactionRow("PPC-20260102-01", card, date(2026, 1, 2), Decimal("500.00"), "NORTHSHIRE COUNCIL", "Prepaid card top-up")),
        # 23:30 UTC in January is 23:30 in London: the same day.
        (31, TransactionRow("PPC-20260115-07", card, date(2026, 1, 15), Decimal("-87.25"), "Café Nero & Co", None)),
        (38, TransactionRow("PPC-20260120-02", card, date(2026, 1, 20), Decimal("-19.5"), "Sunrise Care Agency", "Respite sitting service")),
    ]
    assert result.balances == [ClosingBalance(card, date(2026, 1, 31), Decimal("393.25"))]


def test_the_balance_date_is_the_london_date_of_dtasof() -> None:
    ledger = "<LEDGERBAL><BALAMT>-10.00<DTASOF>20260731233000[0:GMT]</LEDGERBAL>"
    result = parse_text(bank_file(trn(), ledger=ledger))
    assert result.balances == [ClosingBalance("A-1", date(2026, 8, 1), Decimal("-10.00"))]


def test_a_statement_without_ledgerbal_gives_no_balance() -> None:
    result = parse_text(bank_file(trn()))
    assert [row.txn_ref for _, row in accepted(result)] == ["T1"]
    assert result.balances == []


def test_dates_with_offsets_and_decimal_commas_are_read() -> None:
    result = parse_text(
        bank_file(
            trn("T1", "20260110230000[-5:EST]", "+7,5"),  # 04:00 UTC on the 11th
            trn("T2", "20260330003000.000[+1:BST]", ".99", extra=""),  # 23:30 UTC on the 29th, 00:30 BST on the 30th
        )
    )
    assert accepted(result) == [
        (15, TransactionRow("T1", "A-1", date(2026, 1, 11), Decimal("7.5"), "SHOP", None)),
        (16, TransactionRow("T2", "A-1", date(2026, 3, 30), Decimal("0.99"), None, None)),
    ]


def test_several_statements_in_one_file_each_give_their_rows_and_balance() -> None:
    card = (
        "<CREDITCARDMSGSRSV1><CCSTMTTRNRS><TRNUID>2<STATUS><CODE>0<SEVERITY>INFO</STATUS>\n"
        "<CCSTMTRS><CURDEF>GBP<CCACCTFROM><ACCTID>CARD-9</CCACCTFROM><BANKTRANLIST>\n"
        + trn("C1", amount="-3.00")
        + "\n</BANKTRANLIST><LEDGERBAL><BALAMT>97.00<DTASOF>20260131</LEDGERBAL></CCSTMTRS></CCSTMTTRNRS></CREDITCARDMSGSRSV1>\n"
    )
    text = bank_file(trn("B1"), ledger="<LEDGERBAL><BALAMT>5.00<DTASOF>20260131</LEDGERBAL>").replace("</OFX>", card + "</OFX>")
    result = parse_text(text)
    assert [(line, row.account_ref, row.txn_ref) for line, row in accepted(result)] == [(15, "A-1", "B1"), (21, "CARD-9", "C1")]
    assert result.balances == [
        ClosingBalance("A-1", date(2026, 1, 31), Decimal("5.00")),
        ClosingBalance("CARD-9", date(2026, 1, 31), Decimal("97.00")),
    ]


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    data = b"\xef\xbb\xbf" + (DATA / "card_statement_v220.ofx").read_bytes()
    assert accepted(parse_text(data)) == accepted(parse_file("card_statement_v220.ofx"))


def test_lines_count_bare_carriage_returns_in_a_file_without_newlines() -> None:
    text = bank_file(trn("T1"), trn("T2")).replace("\n", "\r")
    assert [line for line, _ in accepted(parse_text(text))] == [15, 16]


# --- The same transaction from CSV and from OFX --------------------------------------------


def test_a_transaction_from_ofx_and_from_csv_has_the_same_row_and_content_hash() -> None:
    ofx_rows = parse_file("bank_statement_v102.ofx").rows + parse_file("card_statement_v220.ofx").rows
    csv_text = "\n".join(
        [
            TXN_HEADER,
            "202607150001,DP-00012345,2026-07-15,-45.00,BETWAY LTD,CARD PAYMENT ONLINE",
            "202607200001,DP-00012345,2026-07-20,-30,OAK LODGE DAY CENTRE & CAFÉ,",
            'PPC-20260120-02,PPC-4921,2026-01-20,-19.50,Sunrise Care Agency,"Respite sitting service"',
        ]
    )
    csv_rows = list(parse_transactions(io.BytesIO(csv_text.encode("utf-8")), source="txns.csv"))
    assert all(isinstance(r, Accepted) for r in csv_rows), csv_rows
    by_ref = {r.row.txn_ref: r for r in ofx_rows if isinstance(r, Accepted)}
    for csv_row in csv_rows:
        ofx_row = by_ref[csv_row.row.txn_ref]
        assert ofx_row.row == csv_row.row
        assert ofx_row.content_hash == csv_row.content_hash


def test_any_change_of_value_changes_the_content_hash() -> None:
    base = parse_text(bank_file(trn())).rows[0]
    for changed in (trn(fitid="T2"), trn(dtposted="20260106"), trn(amount="-12.51"), trn(extra="<NAME>SHOP<MEMO>x")):
        assert parse_text(bank_file(changed)).rows[0].content_hash != base.content_hash
    assert parse_text(bank_file(trn(amount="-12.5"))).rows[0].content_hash == base.content_hash


# --- Bad transactions ----------------------------------------------------------------------


def test_bad_transactions_are_rejected_by_field_and_the_others_still_parse() -> None:
    result = parse_file("bad_transactions.ofx")
    assert [(line, row.txn_ref) for line, row in ((r.line, r.row) for r in result.rows if isinstance(r, Accepted))] == [
        (29, "GOOD-1"),
        (65, "GOOD-2"),
    ]
    assert rejections(result) == [
        (36, "amount", "amount '-12.345' has more than 2 decimal places"),
        (43, "txn_ref", "is required (no <FITID>)"),
        (49, "amount", "'ten pounds' is not an amount such as -12.50"),
        (55, "date", "is required (no <DTPOSTED>)"),
        (60, "txn_ref", "must be at most 64 characters, not 65"),
        (60, "date", "'2026-03-06' is not an OFX date and time such as 20260715 or 20260715093000[0:GMT]"),
        (60, "amount", "is required (no <TRNAMT>)"),
    ]
    assert [r.line for r in result.rows] == [29, 36, 43, 49, 55, 60, 60, 60, 65]  # in the file's order
    assert result.balances == [ClosingBalance("DP-00067890", date(2026, 3, 31), Decimal("840.00"))]
    bad = next(r for r in result.rows if isinstance(r, Rejection))
    assert bad.source == "bad_transactions.ofx"
    assert bad.raw == "<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20260303<TRNAMT>-12.345<FITID>BAD-PLACES<NAME>SHOP</STMTTRN>"


@pytest.mark.parametrize(
    ("transaction", "field", "reason"),
    [
        (trn(fitid="T 1"), "txn_ref", "'T 1' must not contain spaces or control characters"),
        (trn(fitid="</FITID>"), "txn_ref", "is required (<FITID> is empty)"),  # <FITID></FITID>
        (trn(fitid="X" * 64), None, None),
        (trn(amount="1,000.00"), "amount", "'1,000.00' is not an amount such as -12.50"),
        (trn(amount="1e3"), "amount", "'1e3' is not an amount such as -12.50"),
        (trn(amount="-12.500"), "amount", "amount '-12.500' has more than 2 decimal places"),
        (trn(amount="10000000000.00"), "amount", "amount '10000000000.00' is too large: it must be less than 10,000,000,000"),
        (trn(dtposted="20260230"), "date", "'20260230' is not an OFX date and time such as 20260715 or 20260715093000[0:GMT]"),
        (trn(dtposted="18991231"), "date", "'18991231' is out of range: the year must be from 1900 to 2999"),
        (trn(extra="<CURRENCY><CURRATE>1.17<CURSYM>EUR</CURRENCY>"), "amount", "is in EUR (the transaction's CURRENCY), not GBP"),
    ],
)
def test_bad_transaction_values_are_rejected(transaction: str, field: str | None, reason: str | None) -> None:
    result = parse_text(bank_file(transaction))
    if field is None:
        assert len(accepted(result)) == 1
    else:
        assert rejections(result) == [(15, field, reason)]


def test_a_statement_with_a_bad_account_is_rejected_whole() -> None:
    result = parse_text(bank_file(trn("T1"), trn("T2"), account="<ACCTID>MY ACCOUNT"))
    assert rejections(result) == [
        (12, "account_ref", "'MY ACCOUNT' must not contain spaces or control characters: its 2 transaction(s) and closing balance are not read")
    ]
    result = parse_text(bank_file(trn("T1"), account=""))
    assert rejections(result) == [
        (12, "account_ref", "is required (no <BANKACCTFROM/ACCTID>): its 1 transaction(s) and closing balance are not read")
    ]
    assert result.balances == []


def test_a_statement_in_another_currency_is_rejected_whole() -> None:
    result = parse_text(bank_file(trn(), curdef="EUR", ledger="<LEDGERBAL><BALAMT>1.00<DTASOF>20260131</LEDGERBAL>"))
    assert rejections(result) == [(12, "", "the statement is in EUR (CURDEF), not GBP: its 1 transaction(s) and closing balance are not read")]
    assert result.balances == []


def test_a_bad_closing_balance_is_rejected_and_the_transactions_still_parse() -> None:
    result = parse_text(bank_file(trn(), ledger="<LEDGERBAL><BALAMT>12.345<DTASOF>yesterday</LEDGERBAL>"))
    assert [type(r) for r in result.rows] == [Accepted, Rejection]
    assert rejections(result) == [
        (
            17,
            "balance",
            "BALAMT amount '12.345' has more than 2 decimal places; "
            "DTASOF 'yesterday' is not an OFX date and time such as 20260715 or 20260715093000[0:GMT]",
        )
    ]
    assert result.balances == []


# --- Bad files -----------------------------------------------------------------------------


def test_an_empty_file_is_one_rejection() -> None:
    assert file_rejection(parse_file("empty.ofx")) == "the file is empty: an OFX statement is needed"
    assert file_rejection(parse_text(" \r\n\n")) == "the file is empty: an OFX statement is needed"


def test_junk_bytes_are_one_rejection() -> None:
    assert file_rejection(parse_file("junk.ofx")) == "the file is not OFX: its header is not ASCII text (byte 0xF3)"


def test_text_that_is_not_ofx_is_one_rejection() -> None:
    reason = file_rejection(parse_text(f"{TXN_HEADER}\nT1,A-1,2026-01-05,-12.50,,\n"))
    assert reason.startswith("the file is not OFX: it does not start with an OFX header (OFXHEADER:100 for OFX 1")
    assert parse_text("hello\n").rows[0].raw == "hello"


def test_a_truncated_file_is_one_rejection() -> None:
    reason = file_rejection(parse_file("truncated.ofx"))
    assert reason == "the file ends inside <STMTTRN> (6 element(s) left open): is it truncated?"


def test_a_header_without_a_body_is_one_rejection() -> None:
    assert file_rejection(parse_text(HEADER_V1)) == "there is an OFX header but no <OFX> body after it"


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("DATA:OFXSGML", "DATA:OFXXML", "the OFX header is not valid: 'OFXXML' is not one of ('OFXSGML',)"),
        ("SECURITY:NONE", "SECURITY:TYPE9", "the OFX header is not valid: 'TYPE9' is not one of ('NONE', 'TYPE1')"),
        ("OFXHEADER:100\n", "", "the file is not OFX: it does not start with an OFX header"),
    ],
)
def test_a_bad_header_is_one_rejection(old: str, new: str, reason: str) -> None:
    assert file_rejection(parse_text(bank_file(trn()).replace(old, new))).startswith(reason)


def test_a_bad_ofx2_header_is_one_rejection() -> None:
    text = (DATA / "card_statement_v220.ofx").read_text(encoding="utf-8").replace('VERSION="220"', 'VERSION="999"')
    assert file_rejection(parse_text(text)).startswith("the OFX header is not valid: '999' is not one of (200,")


def test_a_body_not_in_the_declared_character_set_is_one_rejection() -> None:
    data = bank_file(trn(extra="<NAME>CAF\xc9")).encode("latin-1")  # the header says CHARSET:NONE, which is UTF-8
    assert file_rejection(parse_text(data)) == "the file is not in the character set its OFX header declares: byte 0xC9 cannot be read"


def test_a_utf16_file_is_one_rejection() -> None:
    reason = file_rejection(parse_text(bank_file(trn()).encode("utf-16")))
    assert reason.startswith("the file is UTF-16")


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("<NAME>SHOP", "<NAME>", "the OFX is malformed at line 15: </STMTTRN> where </NAME> was expected (is a value missing from <NAME>?)"),
        ("</BANKTRANLIST>", "</BANKTRANLIST>oops", "the OFX is malformed at line 16: unexpected text 'oops' after </BANKTRANLIST>"),
        ("<NAME>SHOP", "<NAME>SHOP</NAME>oops", "the OFX is malformed at line 15: unexpected text 'oops' between tags"),
        ("</OFX>\n", "</OFX>\n<OFX></OFX>\n", "the OFX is malformed at line 20: <OFX> after the end of the <OFX> body"),
    ],
)
def test_a_malformed_body_is_one_rejection(old: str, new: str, reason: str) -> None:
    assert file_rejection(parse_text(bank_file(trn()).replace(old, new))) == reason


def test_a_file_without_statements_is_one_rejection() -> None:
    signon = HEADER_V1 + "<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS></SONRS></SIGNONMSGSRSV1></OFX>"
    assert file_rejection(parse_text(signon)) == "the file has no bank or credit-card statement (no <STMTRS> or <CCSTMTRS>)"
    error = HEADER_V1 + (
        "<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>2000<SEVERITY>ERROR<MESSAGE>Account closed</STATUS>"
        "</STMTTRNRS></BANKMSGSRSV1></OFX>"
    )
    assert file_rejection(parse_text(error)) == "the file has no statement: the bank reports error 2000: Account closed"
    assert file_rejection(parse_text(HEADER_V1 + "<FOO></FOO>")) == "the file is not OFX: its body is <FOO>, not <OFX>"


def test_a_file_over_the_size_limit_is_refused_without_reading_it_all(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (DATA / "bank_statement_v102.ofx").read_bytes()
    monkeypatch.setattr(ofx_statement, "MAX_OFX_BYTES", len(data) - 1)
    stream = io.BytesIO(data + b"x" * 10_000)
    reason = file_rejection(parse_ofx(stream, source="big.ofx"))
    assert reason == f"the file is more than {len(data) - 1:,} bytes long; OFX statements that big are not read"
    assert stream.tell() == len(data)  # one byte past the limit, no more
    monkeypatch.setattr(ofx_statement, "MAX_OFX_BYTES", len(data))
    assert len(parse_ofx(io.BytesIO(data), source="big.ofx").rows) == 5


def test_a_text_stream_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="binary file object"):
        parse_ofx(io.StringIO(HEADER_V1), source="text.ofx")  # type: ignore[arg-type]
