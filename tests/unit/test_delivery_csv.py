"""Delivery CSV files (visits, carers, transactions): streaming, exact, every problem with where and why."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careledger.domain.localtime import LONDON
from careledger.formats import delivery_csv
from careledger.formats.delivery_csv import (
    MAX_LINE_BYTES,
    RAW_LIMIT,
    TRANSACTION_COLUMNS,
    Accepted,
    CarerRow,
    Rejection,
    TransactionRow,
    VisitRow,
    content_hash_of,
    parse_carers,
    parse_transactions,
    parse_visits,
)

VISIT_HEADER = "visit_ref,person_ref,provider_ref,service_ref,carer_ref,planned_start,planned_minutes,actual_start,actual_end,status"
GOOD_VISIT = "V1,P1,PROV1,S1,C1,2026-03-02T09:00:00+00:00,30,2026-03-02T09:02:00Z,2026-03-02 09:31,completed"
TXN_HEADER = "txn_ref,account_ref,date,amount,counterparty,description"


def run(parser, text: str | bytes, source: str = "file.csv", **kwargs) -> list:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return list(parser(io.BytesIO(data), source=source, **kwargs))


def visits(*rows: str, header: str = VISIT_HEADER) -> list:
    return run(parse_visits, "\n".join([header, *rows]) + "\n", source="visits.csv")


def transactions(*rows: str, header: str = TXN_HEADER) -> list:
    return run(parse_transactions, "\n".join([header, *rows]) + "\n", source="txns.csv")


def only_rejections(results: list) -> list[tuple[int, str, str]]:
    assert all(isinstance(r, Rejection) for r in results), results
    return [(r.line, r.field, r.reason) for r in results]


def one_rejection(results: list) -> Rejection:
    assert len(results) == 1 and isinstance(results[0], Rejection), results
    return results[0]


# --- Good rows ---------------------------------------------------------------------------------


def test_a_good_visit_parses_exactly() -> None:
    [result] = visits(GOOD_VISIT)
    assert isinstance(result, Accepted)
    assert (result.source, result.line) == ("visits.csv", 2)
    assert len(result.content_hash) == 64
    assert result.row == VisitRow(
        visit_ref="V1",
        person_ref="P1",
        provider_ref="PROV1",
        service_ref="S1",
        carer_ref="C1",
        planned_start=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        planned_minutes=30,
        actual_start=datetime(2026, 3, 2, 9, 2, tzinfo=UTC),
        actual_end=datetime(2026, 3, 2, 9, 31, tzinfo=LONDON),
        status="completed",
    )
    assert result.row.planned_start.utcoffset() == timedelta(0)


def test_optional_visit_fields_may_be_empty_or_absent() -> None:
    [missed] = visits("V2,P1,PROV1,S1,,2026-03-02T09:00,45,,,missed")
    assert isinstance(missed, Accepted)
    assert missed.row.carer_ref is None and missed.row.actual_start is None and missed.row.actual_end is None
    header = "visit_ref,person_ref,provider_ref,service_ref,planned_start,planned_minutes,status"
    [planned] = visits("V3,P1,PROV1,S1,2026-03-02T09:00,45,MISSED", header=header)
    assert isinstance(planned, Accepted) and planned.row.status == "missed"


def test_column_order_is_free_and_unknown_columns_are_ignored() -> None:
    header = "status,Notes,actual_end, Planned_Minutes ,visit_ref,planned_start,person_ref,service_ref,carer_ref,provider_ref,actual_start,"
    row = "completed,anything at all,2026-03-02 09:31,30,V1,2026-03-02T09:00:00+00:00,P1,S1,C1,PROV1,2026-03-02T09:02:00Z,"
    [reordered] = visits(row, header=header)
    [plain] = visits(GOOD_VISIT)
    assert isinstance(reordered, Accepted) and isinstance(plain, Accepted)
    assert reordered.row == plain.row
    assert reordered.content_hash == plain.content_hash


def test_good_carers_parse() -> None:
    results = run(parse_carers, "gender,carer_ref,provider_ref\nfemale,C1,PROV1\nNon_Binary,C2,PROV1\nunknown,C3,PROV2\n")
    assert [r.row for r in results] == [
        CarerRow("C1", "PROV1", "female"),
        CarerRow("C2", "PROV1", "non_binary"),
        CarerRow("C3", "PROV2", "unknown"),
    ]


def test_carer_gender_is_checked() -> None:
    results = run(parse_carers, "carer_ref,provider_ref,gender\nC1,PROV1,f\nC2,PROV1,\n", source="carers.csv")
    assert only_rejections(results) == [
        (2, "gender", "'f' is not one of female, male, non_binary, unknown"),
        (3, "gender", "is required"),
    ]


def test_good_transactions_parse_exactly() -> None:
    results = transactions(
        'T1,ACC1,2026-04-01,-1234.56,"Care Co, Ltd","Invoice 12, April"',
        "T2,ACC1,2026-04-02,4387.50,Council,",
        "T3,ACC1,2026-04-03,0.1,,",
    )
    assert [r.row for r in results] == [
        TransactionRow("T1", "ACC1", date(2026, 4, 1), Decimal("-1234.56"), "Care Co, Ltd", "Invoice 12, April"),
        TransactionRow("T2", "ACC1", date(2026, 4, 2), Decimal("4387.50"), "Council", None),
        TransactionRow("T3", "ACC1", date(2026, 4, 3), Decimal("0.1"), None, None),
    ]
    assert all(type(r.row.amount) is Decimal for r in results)


def test_blank_lines_and_empty_spreadsheet_rows_are_skipped_and_lines_counted() -> None:
    results = transactions("", ",,,,,", "T1,ACC1,2026-04-01,-1.00,,", "")
    assert [(type(r), r.line) for r in results] == [(Accepted, 4)]


def test_crlf_and_quoted_fields_over_several_lines() -> None:
    text = f"{TXN_HEADER}\r\nT1,ACC1,2026-04-01,-1.00,Shop,\"two\r\nlines\"\r\nT2,ACC1,2026-04-01,oops,,\r\n"
    first, second = run(parse_transactions, text)
    assert isinstance(first, Accepted) and first.line == 2 and first.row.description == "two\r\nlines"
    assert isinstance(second, Rejection) and (second.line, second.field) == (4, "amount")


# --- Rejected rows -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("planned_start", "2026-03-02", "'2026-03-02' is a date only; a date and time is needed, such as 2026-03-02T09:00"),
        ("planned_start", "02/03/2026 09:00", "'02/03/2026 09:00' is not a date and time such as 2026-10-25T09:00 or 2026-10-25T09:00:00+01:00"),
        ("planned_start", "2026-02-30T09:00", "'2026-02-30T09:00' is not a real date and time"),
        ("planned_start", "2026-03-02T25:00", "'2026-03-02T25:00' is not a real date and time"),
        ("actual_start", "yesterday", "'yesterday' is not a date and time such as 2026-10-25T09:00 or 2026-10-25T09:00:00+01:00"),
        ("planned_start", "0001-01-01T00:00+01:00", "'0001-01-01T00:00+01:00' is out of range: the year must be from 1900 to 2999"),
        ("actual_end", "9999-12-31T23:59-01:00", "'9999-12-31T23:59-01:00' is out of range: the year must be from 1900 to 2999"),
        ("status", "done", "'done' is not one of completed, missed, cancelled_by_person, cancelled_by_provider, in_progress"),
        ("status", "", "is required"),
        ("planned_minutes", "-30", "-30 must be at least 1 minute"),
        ("planned_minutes", "0", "0 must be at least 1 minute"),
        ("planned_minutes", "1441", "1441 is more than 1440 minutes (24 hours)"),
        ("planned_minutes", "30.5", "'30.5' is not a whole number of minutes"),
        ("planned_minutes", "٣٠", "'٣٠' is not a whole number of minutes"),
        ("visit_ref", "", "is required"),
        ("visit_ref", "V 1", "'V 1' must not contain spaces or control characters"),
        ("person_ref", "P" * 65, "must be at most 64 characters, not 65"),
        ("carer_ref", "C\t1", "'C\\t1' must not contain spaces or control characters"),
    ],
)
def test_each_bad_visit_field_is_rejected_precisely(field: str, value: str, reason: str) -> None:
    columns = VISIT_HEADER.split(",")
    values = GOOD_VISIT.split(",")
    values[columns.index(field)] = value
    line = ",".join(values)
    rejection = one_rejection(visits(line))
    assert (rejection.source, rejection.line, rejection.field, rejection.reason) == ("visits.csv", 2, field, reason)
    assert rejection.raw == line


def test_end_before_start_is_rejected() -> None:
    rejection = one_rejection(visits("V1,P1,PROV1,S1,C1,2026-03-02T09:00,30,2026-03-02T09:30,2026-03-02T09:00,completed"))
    assert (rejection.line, rejection.field) == (2, "actual_end")
    assert rejection.reason == "2026-03-02T09:00:00+00:00 is before actual_start 2026-03-02T09:30:00+00:00"


def test_actual_duration_over_a_day_is_rejected() -> None:
    rejection = one_rejection(visits("V1,P1,PROV1,S1,C1,2026-03-02T09:00,30,2026-03-02T09:00,2026-03-03T09:01,completed"))
    assert (rejection.field, rejection.reason) == ("actual_end", "is more than 24 hours after actual_start")


def test_a_completed_visit_needs_its_actual_times() -> None:
    results = visits("V1,P1,PROV1,S1,C1,2026-03-02T09:00,30,,,completed")
    assert only_rejections(results) == [
        (2, "actual_start", "is required for a completed visit"),
        (2, "actual_end", "is required for a completed visit"),
    ]
    results = visits("V1,P1,PROV1,S1,C1,2026-03-02T09:00,30,,2026-03-02T09:30,missed")
    assert only_rejections(results) == [(2, "actual_start", "is required when actual_end is given")]


def test_every_problem_in_a_row_is_reported_once_per_field_in_column_order() -> None:
    results = visits("V 1,,PROV1,S1,,2026-03-02,-5,,,done")
    assert only_rejections(results) == [
        (2, "visit_ref", "'V 1' must not contain spaces or control characters"),
        (2, "person_ref", "is required"),
        (2, "planned_start", "'2026-03-02' is a date only; a date and time is needed, such as 2026-03-02T09:00"),
        (2, "planned_minutes", "-5 must be at least 1 minute"),
        (2, "status", "'done' is not one of completed, missed, cancelled_by_person, cancelled_by_provider, in_progress"),
    ]


def test_good_rows_around_bad_ones_still_parse() -> None:
    results = visits(GOOD_VISIT, "V2,P1,PROV1,S1,,2026-03-02T09:00,abc,,,missed", GOOD_VISIT.replace("V1", "V3"))
    assert [(type(r).__name__, r.line) for r in results] == [("Accepted", 2), ("Rejection", 3), ("Accepted", 4)]


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("12.505", "amount '12.505' has more than 2 decimal places"),
        ("abc", "'abc' is not an amount in pounds such as -12.50"),
        ('"1,000.00"', "'1,000.00' has a comma: write amounts without thousands separators, such as -1000.00"),
        ("£12.00", "'£12.00' must not include a currency symbol; write pounds such as -12.50"),
        ("1e3", "'1e3' is not an amount in pounds such as -12.50"),
        ("1_000", "'1_000' is not an amount in pounds such as -12.50"),
        ("NaN", "'NaN' is not an amount in pounds such as -12.50"),
        ("-99999999999.00", "amount '-99999999999.00' is too large: it must be less than 10,000,000,000"),
        ("", "is required"),
    ],
)
def test_bad_amounts_are_rejected(amount: str, reason: str) -> None:
    rejection = one_rejection(transactions(f"T1,ACC1,2026-04-01,{amount},Shop,"))
    assert (rejection.source, rejection.line, rejection.field, rejection.reason) == ("txns.csv", 2, "amount", reason)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("01/04/2026", "'01/04/2026' is not a date in the form YYYY-MM-DD"),
        ("2026-04-31", "'2026-04-31' is not a real date"),
        ("0001-01-01", "'0001-01-01' is out of range: the year must be from 1900 to 2999"),
        ("2026-04-01T10:00", "'2026-04-01T10:00' is not a date in the form YYYY-MM-DD"),
    ],
)
def test_bad_transaction_dates_are_rejected(value: str, reason: str) -> None:
    rejection = one_rejection(transactions(f"T1,ACC1,{value},-1.00,,"))
    assert (rejection.line, rejection.field, rejection.reason) == (2, "date", reason)


def test_a_line_with_too_many_or_too_few_fields_is_rejected() -> None:
    results = transactions("T1,ACC1,2026-04-01,1,000.00,Shop,", "T2,ACC1,2026-04-01", "T3,ACC1,2026-04-01,-1.00,,")
    assert [(r.line, r.field, getattr(r, "reason", None)) for r in results[:2]] == [
        (2, "", "has 7 fields, more than the 6 columns of the header"),
        (3, "", "has 3 fields, fewer than the 6 columns of the header"),
    ]
    assert isinstance(results[2], Accepted)


def test_malformed_csv_quoting_is_rejected_and_parsing_continues() -> None:
    results = transactions('T1,ACC1,2026-04-01,"-1.00"x,,', "T2,ACC1,2026-04-01,-1.00,,")
    rejection = results[0]
    assert isinstance(rejection, Rejection) and (rejection.line, rejection.field) == (2, "")
    assert rejection.reason.startswith("the row is not valid CSV")
    assert isinstance(results[1], Accepted) and results[1].line == 3


def test_a_bad_line_inside_a_quoted_field_is_reported_at_the_row() -> None:
    data = f'{TXN_HEADER}\nT1,ACC1,2026-04-01,-1.00,Shop,"two\nlin\u00e9s"\nT2,ACC1,2026-04-01,-1.00,,\n'.encode("latin-1")
    rejection, accepted = run(parse_transactions, data)
    assert isinstance(rejection, Rejection) and (rejection.line, rejection.field) == (2, "")
    assert rejection.reason.startswith("line 3, inside a quoted field of the row starting here: the line is not UTF-8: byte 0xE9")
    assert rejection.raw == 'T1,ACC1,2026-04-01,-1.00,Shop,"two\nlin\ufffds"'
    assert isinstance(accepted, Accepted) and accepted.line == 4


def test_a_quoted_field_that_never_closes_is_bounded() -> None:
    data = f'{TXN_HEADER}\nT1,ACC1,2026-04-01,-1.00,Shop,"open\n' + "more text\n" * 20_000
    results = run(parse_transactions, data)
    assert isinstance(results[0], Rejection) and results[0].line == 2
    assert results[0].reason.endswith("characters; is a quoted field not closed?")
    assert all(isinstance(r, Rejection) for r in results)


def test_an_unclosed_quote_at_the_end_is_rejected() -> None:
    [rejection] = transactions('T1,ACC1,2026-04-01,-1.00,"never closed,')
    assert isinstance(rejection, Rejection) and rejection.line == 2
    assert rejection.reason.startswith("the row is not valid CSV")


def test_raw_text_is_truncated() -> None:
    long_description = "x" * 5000
    [accepted] = transactions(f"T1,ACC1,2026-04-01,-1.00,Shop,{long_description}")
    assert isinstance(accepted, Accepted) and accepted.row.description == long_description
    [rejection] = transactions(f"T1,ACC1,2026-04-01,bad,Shop,{long_description}")
    assert isinstance(rejection, Rejection) and len(rejection.raw) == RAW_LIMIT


def test_an_overlong_line_is_rejected_and_skipped() -> None:
    results = transactions("T1,ACC1,2026-04-01,-1.00,," + "y" * 200_000, "T2,ACC1,2026-04-01,-1.00,,")
    rejection = results[0]
    assert isinstance(rejection, Rejection) and (rejection.line, rejection.field) == (2, "")
    assert rejection.reason == "the line is 200,026 bytes long; at most 65,536 are allowed"
    assert isinstance(results[1], Accepted) and results[1].line == 3


# --- File-level problems -------------------------------------------------------------------


def test_empty_file() -> None:
    rejection = one_rejection(run(parse_visits, b"", source="empty.csv"))
    assert (rejection.source, rejection.line, rejection.field) == ("empty.csv", 0, "")
    assert rejection.reason.startswith("the file is empty: a header row naming the columns (visit_ref,")


def test_header_only_gives_nothing() -> None:
    assert run(parse_visits, VISIT_HEADER + "\n") == []
    assert run(parse_visits, VISIT_HEADER) == []
    assert run(parse_carers, "carer_ref,provider_ref,gender\r\n\r\n") == []


def test_missing_header() -> None:
    rejection = one_rejection(run(parse_visits, GOOD_VISIT + "\n" + GOOD_VISIT + "\n"))
    assert (rejection.line, rejection.field) == (1, "")
    assert rejection.reason == (
        "there is no header row: line 1 names none of the columns visit_ref, person_ref, provider_ref, service_ref, "
        "carer_ref, planned_start, planned_minutes, actual_start, actual_end, status"
    )
    blank = one_rejection(run(parse_transactions, "\n" + TXN_HEADER + "\n"))
    assert (blank.line, blank.reason) == (1, "line 1 is blank: the header row naming the columns must be the first line")


def test_missing_required_columns_are_named() -> None:
    rejection = one_rejection(run(parse_visits, "visit_ref,person_ref,provider_ref,carer_ref,planned_start\nV1,P1,X,C1,2026-01-01T09:00\n"))
    assert (rejection.line, rejection.field) == (1, "")
    assert rejection.reason == "the header is missing the required column(s): service_ref, planned_minutes, status"


def test_duplicate_header_column() -> None:
    rejection = one_rejection(transactions("T1,ACC1,2026-04-01,-1.00,-2.00,,", header=TXN_HEADER.replace(",counterparty", ",Amount ,counterparty")))
    assert (rejection.source, rejection.line, rejection.field) == ("txns.csv", 1, "")
    assert rejection.reason == "the header names amount more than once"


def test_utf8_bom_is_accepted() -> None:
    [result] = run(parse_transactions, b"\xef\xbb\xbf" + f"{TXN_HEADER}\nT1,ACC1,2026-04-01,-1.00,,\n".encode())
    assert isinstance(result, Accepted) and result.row.txn_ref == "T1"


def test_latin1_bytes_are_rejected_with_line_and_byte() -> None:
    data = f"{TXN_HEADER}\nT1,ACC1,2026-04-01,-1.00,Caf\u00e9,\nT2,ACC1,2026-04-01,-2.00,Shop,\n".encode("latin-1")
    results = run(parse_transactions, data, source="latin.csv")
    rejection = results[0]
    assert isinstance(rejection, Rejection)
    offset = data.index(b"\xe9")
    column = offset - data.index(b"T1") + 1
    assert (rejection.source, rejection.line, rejection.field) == ("latin.csv", 2, "")
    assert rejection.reason == (
        f"the line is not UTF-8: byte 0xE9 at byte {column} of the line (byte offset {offset} in the file); save the file as UTF-8"
    )
    assert rejection.raw == "T1,ACC1,2026-04-01,-1.00,Caf\ufffd,"
    assert isinstance(results[1], Accepted) and results[1].line == 3


def test_a_header_that_is_not_utf8_stops_parsing() -> None:
    data = "visit_ref,pers\u00f6n_ref\nV1,P1\n".encode("latin-1")
    rejection = one_rejection(run(parse_visits, data))
    assert (rejection.line, rejection.field) == (1, "")
    assert rejection.reason.startswith("the header row cannot be read: the line is not UTF-8: byte 0xF6 at byte 15 of the line")


def test_utf16_is_refused() -> None:
    data = ("\ufeff" + TXN_HEADER + "\n").encode("utf-16-le")
    rejection = one_rejection(run(parse_transactions, data))
    assert (rejection.line, rejection.field) == (1, "")
    assert "UTF-16" in rejection.reason


def test_a_text_stream_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="binary file object"):
        list(parse_visits(io.StringIO(VISIT_HEADER), source="x"))


# --- Times across the clock changes ------------------------------------------------------------


def planned_start(value: str) -> datetime:
    [result] = visits(f"V1,P1,PROV1,S1,,{value},30,,,missed")
    assert isinstance(result, Accepted), result
    return result.row.planned_start


def test_london_local_time_in_winter_and_summer() -> None:
    assert planned_start("2026-01-15T09:00").astimezone(UTC) == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    assert planned_start("2026-07-15 09:00").astimezone(UTC) == datetime(2026, 7, 15, 8, 0, tzinfo=UTC)


def test_the_repeated_hour_in_october_is_the_first_bst_occurrence() -> None:
    for text in ("2026-10-25T01:30:00", "2026-10-25 01:30"):
        moment = planned_start(text)
        assert moment.utcoffset() == timedelta(hours=1)
        assert moment.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_an_offset_is_taken_as_given() -> None:
    second = planned_start("2026-10-25T01:30:00+00:00")  # the second 01:30, GMT
    assert second.utcoffset() == timedelta(0) and second.astimezone(UTC) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    first = planned_start("2026-10-25T01:30:00+01:00")
    assert first.tzinfo == timezone(timedelta(hours=1))
    assert first.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert planned_start("2026-10-25T01:30:00Z") == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_the_skipped_hour_in_march_moves_forward() -> None:
    moment = planned_start("2026-03-29T01:30")
    assert moment.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 02:30 BST
    assert moment.astimezone(LONDON).hour == 2


def test_a_visit_across_the_october_change_is_measured_in_real_time() -> None:
    # 01:30 BST to 01:15 GMT is 45 real minutes, whatever the wall clock says.
    [result] = visits("V1,P1,PROV1,S1,,2026-10-25T01:30,45,2026-10-25T01:30+01:00,2026-10-25T01:15+00:00,completed")
    assert isinstance(result, Accepted)
    assert result.row.actual_end - result.row.actual_start == timedelta(minutes=45)


# --- Content hash ------------------------------------------------------------------------------


def test_content_hash_ignores_column_order_and_representation_but_not_values() -> None:
    [base] = transactions("T1,ACC1,2026-04-01,-12.50,Shop,Groceries")
    [reordered] = transactions("Groceries,-12.50,Shop,2026-04-01,ACC1,T1", header="description,amount,counterparty,date,account_ref,txn_ref")
    [spaced] = transactions(" T1 ,ACC1,2026-04-01,-12.5,Shop,Groceries")
    [changed] = transactions("T1,ACC1,2026-04-01,-12.51,Shop,Groceries")
    [changed_text] = transactions("T1,ACC1,2026-04-01,-12.50,Shop,groceries")
    assert base.content_hash == reordered.content_hash == spaced.content_hash
    assert len({base.content_hash, changed.content_hash, changed_text.content_hash}) == 3


def test_visit_content_hash_sees_the_instant_not_the_spelling() -> None:
    [local] = visits("V1,P1,PROV1,S1,,2026-10-25 01:30,30,,,missed")
    [offset] = visits("V1,P1,PROV1,S1,,2026-10-25T01:30:00+01:00,30,,,missed")
    [later] = visits("V1,P1,PROV1,S1,,2026-10-25T01:30:00+00:00,30,,,missed")
    [no_carer] = visits("V1,P1,PROV1,S1,,2026-10-25T01:30,30,,,missed", header=VISIT_HEADER.replace("carer_ref,", "carer_ref_old,"))
    assert local.content_hash == offset.content_hash == no_carer.content_hash
    assert later.content_hash != local.content_hash


def test_content_hash_differs_between_kinds_and_empty_and_missing_fields() -> None:
    [with_none] = transactions("T1,ACC1,2026-04-01,-1.00,,")
    [with_empty_string] = transactions('T1,ACC1,2026-04-01,-1.00,"",x')
    assert with_none.content_hash != with_empty_string.content_hash


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_content_hash_is_the_documented_canonical_text_and_never_changes() -> None:
    # Stored hashes tell a resend from an amendment: these values are pinned for good.
    [visit] = visits(GOOD_VISIT)
    text = (
        "visits\x1fvisit_ref=V1\x1fperson_ref=P1\x1fprovider_ref=PROV1\x1fservice_ref=S1\x1fcarer_ref=C1"
        "\x1fplanned_start=2026-03-02T09:00:00+00:00\x1fplanned_minutes=30\x1factual_start=2026-03-02T09:02:00+00:00"
        "\x1factual_end=2026-03-02T09:31:00+00:00\x1fstatus=completed"
    )
    assert visit.content_hash == sha256(text) == "6600177290ac59c3dbfe6254264a5fb11768e9b1414c75d3cfe12a61abdda69a"
    [txn] = transactions("T1,ACC1,2026-04-01,-12.5,,Groceries")  # no counterparty: left out, name and all
    text = "transactions\x1ftxn_ref=T1\x1faccount_ref=ACC1\x1fdate=2026-04-01\x1famount=-12.50\x1fdescription=Groceries"
    assert txn.content_hash == sha256(text) == "e8ea0b6c48c024496b0fd6dbdb36d0ef19785dc1a7e07c29e37ad2554dbbd97a"
    [carer] = run(parse_carers, "carer_ref,provider_ref,gender\nC1,PROV1,Female\n")
    text = "carers\x1fcarer_ref=C1\x1fprovider_ref=PROV1\x1fgender=female"
    assert carer.content_hash == sha256(text) == "748f2626abb72db42379c0f3e3236ff532127913e01b1d10a2f0a795b14a490c"


def test_content_hash_of_any_row_is_the_parsers_hash() -> None:
    carers = run(parse_carers, "carer_ref,provider_ref,gender\nC1,P,male\n")
    for result in (*visits(GOOD_VISIT), *transactions("T1,ACC1,2026-04-01,-12.5,Shop,"), *carers):
        assert content_hash_of(result.row) == result.content_hash
    row = TransactionRow("T1", "ACC1", date(2026, 4, 1), Decimal("-12.5"), "Shop", None)
    [parsed] = transactions("T1,ACC1,2026-04-01,-12.50,Shop,")
    # What the OFX reader calls: either spelling of the kind.
    assert delivery_csv._content_hash("transactions", TRANSACTION_COLUMNS, row) == parsed.content_hash
    assert delivery_csv._content_hash("transaction", TRANSACTION_COLUMNS, row) == parsed.content_hash
    with pytest.raises(TypeError):
        content_hash_of(("T1", "ACC1"))  # type: ignore[arg-type]


def test_content_hash_escapes_the_separator_and_the_backslash() -> None:
    # The same characters split differently between the two text fields: different rows, different hashes.
    rows = [
        "T1,ACC1,2026-04-01,-1.00,a\x1fdescription=b,",
        "T1,ACC1,2026-04-01,-1.00,a,b",
        "T1,ACC1,2026-04-01,-1.00,a\\x1fdescription=b,",
        "T1,ACC1,2026-04-01,-1.00,a\\,b",
        "T1,ACC1,2026-04-01,-1.00,a,\\b",
    ]
    results = transactions(*rows)
    assert all(isinstance(r, Accepted) for r in results)
    assert len({r.content_hash for r in results}) == len(rows)
    assert results[0].row.counterparty == "a\x1fdescription=b"
    text = "transactions\x1ftxn_ref=T1\x1faccount_ref=ACC1\x1fdate=2026-04-01\x1famount=-1.00\x1fcounterparty=a\\x1fdescription=b"
    assert results[0].content_hash == sha256(text)
    [backslash_ref] = visits("V\\1,P1,PROV1,S1,,2026-03-02T09:00,30,,,missed")
    assert backslash_ref.row.visit_ref == "V\\1"
    assert backslash_ref.content_hash == content_hash_of(backslash_ref.row)
    assert "visit_ref=V\\\\1" in delivery_csv._canonical_text("visits", delivery_csv.VISIT_COLUMNS, backslash_ref.row)


def test_rows_are_immutable_named_tuples() -> None:
    [result] = visits(GOOD_VISIT)
    with pytest.raises(AttributeError):
        result.row.status = "missed"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        result.content_hash = "x"  # type: ignore[misc]
    assert result.row._replace(status="missed").status == "missed"
    assert repr(result.row).startswith("VisitRow(visit_ref='V1', person_ref='P1'")


# --- Lines at the limit ----------------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_a_line_of_exactly_the_limit_is_read_and_one_byte_more_is_not(ending: str) -> None:
    row = "T1,ACC1,2026-04-01,-1.00,,"
    at_limit = row + "d" * (MAX_LINE_BYTES - len(row))
    over = at_limit + "d"
    data = ending.join([TXN_HEADER, at_limit, over, "T3,ACC1,2026-04-01,-1.00,,"]) + ending
    first, second, third = run(parse_transactions, data)
    assert isinstance(first, Accepted) and first.line == 2 and len(first.row.description) == MAX_LINE_BYTES - len(row)
    assert isinstance(second, Rejection) and second.line == 3
    assert second.reason == f"the line is {MAX_LINE_BYTES + 1:,} bytes long; at most {MAX_LINE_BYTES:,} are allowed"
    assert isinstance(third, Accepted) and third.line == 4


def test_the_limit_is_in_bytes_not_characters() -> None:
    row = "T1,ACC1,2026-04-01,-1.00,,"
    text = row + "\u00e9" * ((MAX_LINE_BYTES - len(row)) // 2 + 1)  # two bytes each
    rejection, accepted = transactions(text, "T2,ACC1,2026-04-01,-1.00,,")
    assert isinstance(rejection, Rejection) and rejection.line == 2 and rejection.reason.startswith("the line is 65,5")
    assert len(rejection.raw) == RAW_LIMIT
    assert isinstance(accepted, Accepted) and accepted.line == 3


def test_a_file_of_only_a_byte_order_mark_is_empty() -> None:
    rejection = one_rejection(run(parse_visits, b"\xef\xbb\xbf"))
    assert rejection.line == 0 and rejection.reason.startswith("the file is empty")


# --- Streaming, junk and progress ---------------------------------------------------------------


def test_two_hundred_thousand_rows_parse_with_the_right_count_and_lines() -> None:
    """A big file (not a timing test): every row, with its own line, through both ways of reading.

    The first half has no quote character, so it is split at commas; the second half has
    quoted fields, one of them over two lines, so the csv reader reads it. Every 1000th row is bad.
    """
    header = VISIT_HEADER + ",notes"
    lines = [header]
    expected_lines = []
    bad_lines = []
    line = 1
    for i in range(200_000):
        d = 1 + i % 28
        minutes = "abc" if i % 1000 == 999 else "30"
        notes = "" if i < 100_000 else ('"two\nlines, quoted"' if i == 150_000 else '"a, b"')
        lines.append(
            f"V{i},P{i % 2000},ACME-CARE,homecare,C{i % 50},2026-05-{d:02d} 09:00,{minutes},"
            f"2026-05-{d:02d} 09:05:{i % 60:02d},2026-05-{d:02d} 09:33,completed,{notes}"
        )
        line += 1
        (bad_lines if minutes == "abc" else expected_lines).append(line)
        line += notes.count("\n")
    data = ("\n".join(lines) + "\n").encode()
    accepted = rejected = 0
    for result in parse_visits(io.BytesIO(data), source="big.csv"):
        if isinstance(result, Accepted):
            assert result.line == expected_lines[accepted]
            accepted += 1
        else:
            assert (result.line, result.field) == (bad_lines[rejected], "planned_minutes")
            rejected += 1
    assert (accepted, rejected) == (199_800, 200)


# --- Streaming, junk and progress (continued) ----------------------------------------------------


def test_progress_is_reported_about_every_megabyte() -> None:
    row = b"T1,ACC1,2026-04-01,-1.00,Shop,Groceries\n"
    data = TXN_HEADER.encode() + b"\n" + row * (3 * 1024 * 1024 // len(row))
    seen: list[int] = []
    results = run(parse_transactions, data, on_progress=seen.append)
    assert all(isinstance(r, Accepted) for r in results)
    assert len(seen) == 4 and seen[-1] == len(data)
    assert seen == sorted(seen) and seen[0] >= 1024 * 1024


@pytest.mark.slow
def test_fifty_megabytes_of_junk_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "junk.csv"
    with path.open("wb") as out:
        out.write(VISIT_HEADER.encode() + b"\n")
        for _ in range(50):
            out.write(os.urandom(1024 * 1024))
    count = 0
    accepted = 0
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            for result in parse_visits(stream, source="junk.csv"):
                count += 1
                if isinstance(result, Accepted):
                    accepted += 1
                else:
                    assert isinstance(result, Rejection) and result.source == "junk.csv" and len(result.raw) <= RAW_LIMIT
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count > 1000 and accepted == 0
    assert peak < 20 * 1024 * 1024  # the file is 50 MB; nothing like it is held


def test_a_file_of_junk_without_a_header_stops_at_once() -> None:
    junk = os.urandom(2 * 1024 * 1024)
    results = run(parse_visits, junk)
    assert len(results) == 1 and isinstance(results[0], Rejection) and results[0].field == ""


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    for parser in (parse_visits, parse_carers, parse_transactions):
        for result in run(parser, data):
            assert isinstance(result, Accepted | Rejection)


_ALPHABET = st.sampled_from(
    list('abcT1,"\n\r -:.0229+Z\u00e9\x00\t')
    + ["completed", "2026-10-25 01:30", "0001-01-01T00:00", "9999-12-31T23:59", "-01:00", "+14:00", "-1.00", "2026-04-01"]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_arbitrary_text_after_a_good_header_never_raises(body: str) -> None:
    for header, parser in ((VISIT_HEADER, parse_visits), ("carer_ref,provider_ref,gender", parse_carers), (TXN_HEADER, parse_transactions)):
        for result in run(parser, header + "\n" + body):
            assert isinstance(result, Accepted | Rejection)
            assert result.line >= 2


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_after_a_good_header_never_raise(body: bytes) -> None:
    for header, parser in ((VISIT_HEADER, parse_visits), ("carer_ref,provider_ref,gender", parse_carers), (TXN_HEADER, parse_transactions)):
        for result in run(parser, header.encode() + b"\n" + body):
            assert isinstance(result, Accepted | Rejection) and result.line >= 2


_FIELD = st.one_of(
    st.sampled_from(
        [
            "", "V1", "P 1", "x" * 70, "completed", "missed", "in_progress", "female", "non_binary", "-12.50", "1,000.00",
            "12.505", "0", "-1", "1440", "1441", "30", "2026-04-01", "2026-10-25 01:30", "2026-10-25T01:30:00+01:00",
            "2026-03-29T01:30", "2026-10-26T09:00Z", "1899-12-31T23:59", "2999-12-31T23:59-14:00", '"q,uoted"',
        ]
    ),
    st.text(max_size=12),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.lists(_FIELD, min_size=3, max_size=10), max_size=5))
def test_rows_of_plausible_values_give_accepted_rows_or_precise_rejections(rows: list[list[str]]) -> None:
    headers = ((VISIT_HEADER, parse_visits), ("carer_ref,provider_ref,gender", parse_carers), (TXN_HEADER, parse_transactions))
    for header, parser in headers:
        width = len(header.split(","))
        body = "\n".join(",".join(row[:width]) for row in rows)
        for result in run(parser, header + "\n" + body):
            if isinstance(result, Rejection):
                assert result.reason and (result.field == "" or result.field in header.split(","))
            else:
                assert isinstance(result, Accepted) and len(result.content_hash) == 64
