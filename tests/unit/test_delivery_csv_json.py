"""One pushed JSON item, checked as one CSV row: the same checks, reasons, row and content hash."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careledger.domain.localtime import LONDON
from careledger.formats.delivery_csv import (
    CARER_COLUMNS,
    RAW_LIMIT,
    TRANSACTION_COLUMNS,
    VISIT_COLUMNS,
    Accepted,
    CarerRow,
    Rejection,
    TransactionRow,
    VisitRow,
    check_carer,
    check_transaction,
    check_visit,
    content_hash_of,
    parse_carers,
    parse_transactions,
    parse_visits,
)

VISIT = {
    "visit_ref": "V1",
    "person_ref": "P1",
    "provider_ref": "PROV1",
    "service_ref": "S1",
    "carer_ref": "C1",
    "planned_start": "2026-03-02T09:00:00+00:00",
    "planned_minutes": 30,
    "actual_start": "2026-03-02T09:02:00Z",
    "actual_end": "2026-03-02 09:31",
    "status": "completed",
}
TRANSACTION = {
    "txn_ref": "T1",
    "account_ref": "ACC1",
    "date": "2026-04-01",
    "amount": "-12.50",
    "counterparty": "Care Co, Ltd",
    "description": None,
}


def csv_row(parser, columns: tuple[str, ...], item: dict[str, object]) -> list:
    """The item as a one-row CSV file, through the CSV parser."""

    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n\r') else text

    text = ",".join(columns) + "\n" + ",".join(cell(item.get(column)) for column in columns) + "\n"
    return list(parser(io.BytesIO(text.encode()), source="api"))


def reasons(result: object) -> list[tuple[int, str, str]]:
    assert isinstance(result, list) and result and all(isinstance(r, Rejection) for r in result), result
    return [(r.line, r.field, r.reason) for r in result]


def test_a_good_visit_item_is_the_csv_row() -> None:
    result = check_visit(VISIT, source="api", line=7)
    assert isinstance(result, Accepted)
    assert (result.source, result.line) == ("api", 7)
    assert result.row == VisitRow(
        "V1", "P1", "PROV1", "S1", "C1", datetime(2026, 3, 2, 9, 0, tzinfo=UTC), 30,
        datetime(2026, 3, 2, 9, 2, tzinfo=UTC), datetime(2026, 3, 2, 9, 31, tzinfo=LONDON), "completed",
    )  # fmt: skip
    [from_csv] = csv_row(parse_visits, VISIT_COLUMNS, VISIT)
    assert isinstance(from_csv, Accepted)
    assert result.row == from_csv.row and result.content_hash == from_csv.content_hash == content_hash_of(result.row)


def test_optional_values_may_be_null_or_missing_and_unknown_keys_are_ignored() -> None:
    item = {k: v for k, v in VISIT.items() if k not in ("carer_ref", "actual_end")}
    item |= {"actual_start": None, "status": "MISSED", "note": [1]}
    result = check_visit(item, source="api", line=0)
    assert isinstance(result, Accepted)
    assert (result.row.carer_ref, result.row.actual_start, result.row.actual_end, result.row.status) == (None, None, None, "missed")
    [from_csv] = csv_row(parse_visits, VISIT_COLUMNS, item)
    assert result.content_hash == from_csv.content_hash


def test_values_are_trimmed_and_normalised_as_in_a_csv_file() -> None:
    item = VISIT | {"visit_ref": " V1 ", "status": " Completed ", "planned_minutes": "030", "actual_start": "2026-03-02T09:02:00+00:00"}
    checked = check_visit(item, source="api", line=0)
    plain = check_visit(VISIT, source="api", line=0)
    assert isinstance(checked, Accepted) and isinstance(plain, Accepted)
    assert checked.row == plain.row and checked.content_hash == plain.content_hash


def test_every_bad_field_of_an_item_is_one_rejection_with_the_csv_reason() -> None:
    item = VISIT | {"visit_ref": "V 1", "person_ref": None, "planned_start": "2026-03-02", "planned_minutes": -5, "status": "done"}
    del item["provider_ref"]
    result = check_visit(item, source="api", line=3)
    assert reasons(result) == [
        (3, "visit_ref", "'V 1' must not contain spaces or control characters"),
        (3, "person_ref", "is required"),
        (3, "provider_ref", "is required"),
        (3, "planned_start", "'2026-03-02' is a date only; a date and time is needed, such as 2026-03-02T09:00"),
        (3, "planned_minutes", "-5 must be at least 1 minute"),
        (3, "status", "'done' is not one of completed, missed, cancelled_by_person, cancelled_by_provider, in_progress"),
    ]
    csv_reasons = [(r.field, r.reason) for r in csv_row(parse_visits, VISIT_COLUMNS, item)]
    assert [(field, reason) for _, field, reason in reasons(result)] == csv_reasons
    raw = result[0].raw
    assert raw.startswith("{'visit_ref': 'V 1'") and len(raw) <= RAW_LIMIT


def test_checks_across_fields_apply_to_items() -> None:
    item = VISIT | {"actual_start": "2026-03-02T09:30", "actual_end": "2026-03-02T09:00"}
    assert reasons(check_visit(item, source="api", line=1)) == [
        (1, "actual_end", "2026-03-02T09:00:00+00:00 is before actual_start 2026-03-02T09:30:00+00:00")
    ]
    assert reasons(check_visit(VISIT | {"actual_start": None}, source="api", line=2)) == [
        (2, "actual_start", "is required for a completed visit")
    ]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("planned_minutes", 30.0, "must be a string or a whole number, not a number with a fraction"),
        ("planned_minutes", True, "must be a string or a whole number, not true or false"),
        ("planned_minutes", 10**30, "is far out of range"),
        ("planned_minutes", 1441, "1441 is more than 1440 minutes (24 hours)"),
        ("visit_ref", 12, "must be a string, not a whole number"),
        ("carer_ref", ["C1"], "must be a string, not a list"),
        ("status", {"code": "completed"}, "must be a string, not an object"),
        ("planned_start", "2026-03-02T09:00\ud800", "is not valid Unicode text (it has a lone surrogate, such as \\ud800)"),
    ],
)
def test_values_of_the_wrong_type_are_rejected(field: str, value: object, reason: str) -> None:
    assert reasons(check_visit(VISIT | {field: value}, source="api", line=5)) == [(5, field, reason)]


def test_a_good_carer_item() -> None:
    item = {"carer_ref": "C1", "provider_ref": "PROV1", "gender": "Non_Binary"}
    result = check_carer(item, source="api", line=0)
    assert isinstance(result, Accepted) and result.row == CarerRow("C1", "PROV1", "non_binary")
    [from_csv] = csv_row(parse_carers, CARER_COLUMNS, item)
    assert result.content_hash == from_csv.content_hash
    assert reasons(check_carer({"carer_ref": "C1", "provider_ref": "PROV1"}, source="api", line=4)) == [(4, "gender", "is required")]


def test_a_good_transaction_item() -> None:
    result = check_transaction(TRANSACTION, source="api", line=0)
    assert isinstance(result, Accepted)
    assert result.row == TransactionRow("T1", "ACC1", date(2026, 4, 1), Decimal("-12.50"), "Care Co, Ltd", None)
    [from_csv] = csv_row(parse_transactions, TRANSACTION_COLUMNS, TRANSACTION)
    assert result.row == from_csv.row and result.content_hash == from_csv.content_hash


def test_an_amount_may_be_a_whole_number_but_never_a_float() -> None:
    whole = check_transaction(TRANSACTION | {"amount": -12}, source="api", line=0)
    assert isinstance(whole, Accepted) and whole.row.amount == Decimal("-12")
    assert whole.content_hash == check_transaction(TRANSACTION | {"amount": "-12.00"}, source="api", line=0).content_hash
    for value in (-12.5, Decimal("-12.50")):
        [rejection] = check_transaction(TRANSACTION | {"amount": value}, source="api", line=9)
        assert (rejection.line, rejection.field) == (9, "amount")
        assert "send amounts as a decimal string, such as \"-12.50\"" in rejection.reason
    assert reasons(check_transaction(TRANSACTION | {"amount": "12.505"}, source="api", line=1)) == [
        (1, "amount", "amount '12.505' has more than 2 decimal places")
    ]
    assert reasons(check_transaction(TRANSACTION | {"amount": False}, source="api", line=1)) == [
        (1, "amount", "must be a string or a whole number, not true or false")
    ]


def test_free_text_of_an_item_is_kept_and_hashed_as_in_csv() -> None:
    item = TRANSACTION | {"counterparty": " a\x1fb\\c ", "description": "two\nlines"}
    result = check_transaction(item, source="api", line=0)
    assert isinstance(result, Accepted) and result.row.counterparty == "a\x1fb\\c"
    [from_csv] = csv_row(parse_transactions, TRANSACTION_COLUMNS, item)
    assert result.content_hash == from_csv.content_hash == content_hash_of(result.row)


def test_a_mapping_that_is_not_a_dict_and_a_huge_item_are_fine() -> None:
    class Item(dict):
        pass

    result = check_visit(Item(VISIT | {"status": "x" * 100_000}), source="api", line=0)
    assert isinstance(result, list) and len(result[0].raw) <= RAW_LIMIT


_JSON_VALUES = st.one_of(
    st.none(),
    st.integers(-5, 2000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.sampled_from(["", " ", "V1", "x" * 65, "30", "2026-10-25 01:30", "2026-10-25T01:30:17+01:00", "completed", "MISSED",
                     "female", "2026-04-01", "-12.50", "1,000.00", "Shop", "a\\b", "\t"]),
)  # fmt: skip


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(["visits", "carers", "transactions"]), st.data())
def test_any_json_item_gives_an_accepted_row_or_rejections_and_never_raises(kind: str, data: st.DataObject) -> None:
    check, columns = {
        "visits": (check_visit, VISIT_COLUMNS),
        "carers": (check_carer, CARER_COLUMNS),
        "transactions": (check_transaction, TRANSACTION_COLUMNS),
    }[kind]
    item = {column: data.draw(_JSON_VALUES) for column in columns if data.draw(st.integers(0, 9))}
    result = check(json.loads(json.dumps(item)), source="api", line=11)
    if isinstance(result, Accepted):
        assert result.line == 11 and result.content_hash == content_hash_of(result.row)
    else:
        assert result and all(r.line == 11 and r.field in columns and r.reason for r in result)
        assert [r.field for r in result] == [c for c in columns if c in {r.field for r in result}]  # column order
