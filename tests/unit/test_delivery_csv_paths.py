"""The delivery CSV parsers' quick ways give exactly what their reference ways give.

The common case is read quickly: blocks split at commas when they have no quote
character, remembered times, dates and amounts, and a quick check of the common good
row. Each has a plain reference (the csv reader, :func:`_moment`, the field-by-field
checks); here the two are run on the same input and must agree in every value,
every line number and every reason, and in the content hash.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careledger.domain.localtime import LONDON
from careledger.formats import delivery_csv as dc

HEADERS = {
    "visits": dc.VISIT_COLUMNS,
    "carers": dc.CARER_COLUMNS,
    "transactions": dc.TRANSACTION_COLUMNS,
}
PARSERS = {"visits": dc.parse_visits, "carers": dc.parse_carers, "transactions": dc.parse_transactions}
KINDS = {"visits": "_VISITS", "carers": "_CARERS", "transactions": "_TRANSACTIONS"}

VALUES = {
    "ref": ["V1", "P1", "ACME-CARE", "a\\b", "x" * 64, "x" * 65, "", " V1 ", "V 1", "\u00c91", "C\t1", "V\x1f1", "q,r", "V\u00a01"],
    "time": [
        "2026-03-02T09:00:00+00:00", "2026-03-02 09:31", "2026-03-02T09:02:00Z", "2026-03-02 09:31:59", "2026-03-02 09:31:60",
        "2026-03-02 09:60", "2026-10-25 01:30", "2026-10-25T01:30:00+01:00", "2026-10-25 01:15:07", "2026-03-29T01:30:30",
        "2026-03-29 02:00", "2026-03-02", "", " 2026-03-02 09:31 ", "2026-03-02T09:00:00.5", "2026-03-02T09:00+0100",
        "2026-03-03T09:01", "2026-02-30T09:00", "1899-12-31T23:59", "2999-12-31T23:59:59-14:00", "2026-03-02T09:00:00+05:30",
        "2026-03-02T24:00", "2026-03-02T09:05:0", "2026-03-02 9:05",
    ],
    "minutes": ["30", "1", "1440", "1441", "0", "-5", "030", "+30", " 30", "30.0", "", "\u0663\u0660"],
    "status": ["completed", "missed", "MISSED", "In_Progress", " missed", "done", "", "cancelled_by_person"],
    "gender": ["female", "Male", "NON_BINARY", "unknown", "", "f", " female", "UN\u212aNOWN"],
    "day": ["2026-04-01", "2026-04-31", " 2026-04-01", "01/04/2026", "", "2999-12-31", "1900-01-01", "2026-4-01"],
    "amount": [
        "-12.50", "12.5", "0.1", "-0.00", "+3", "1,000.00", "\u00a31", "12.505", "1e3", "", " -1.00", "9999999999.99", "10000000000",
        "007.10",
    ],
    "text": [
        "", "Shop", " Shop ", "Care Co, Ltd", 'say "hi"', "two\nlines", "two\r\nlines", "a\\b", "x\x1fy", "Caf\u00e9", "\t", "x" * 3000,
    ],
}
TYPES = {
    "visit_ref": "ref", "person_ref": "ref", "provider_ref": "ref", "service_ref": "ref", "carer_ref": "ref", "txn_ref": "ref",
    "account_ref": "ref", "planned_start": "time", "actual_start": "time", "actual_end": "time", "planned_minutes": "minutes",
    "status": "status", "gender": "gender", "date": "day", "amount": "amount", "counterparty": "text", "description": "text",
}  # fmt: skip
OPTIONAL = {"carer_ref", "actual_start", "actual_end", "counterparty", "description"}


def quote(value: str, force: bool) -> str:
    if force or any(c in value for c in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def files(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(sorted(HEADERS)))
    columns = [c for c in HEADERS[kind] if c not in draw(st.sets(st.sampled_from(sorted(OPTIONAL & set(HEADERS[kind]) or {"-"}))))]
    columns = draw(st.permutations(columns))
    extra = draw(st.booleans())
    header = [c.upper() if draw(st.booleans()) and c == columns[0] else c for c in columns] + (["Notes"] if extra else [])
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    lines = [",".join(header)]
    for _ in range(draw(st.integers(0, 8))):
        values = [quote(draw(st.sampled_from(VALUES[TYPES[c]])), draw(st.integers(0, 9)) == 0) for c in columns]
        if extra:
            values.append(draw(st.sampled_from(["", "note", "a b", "\t"])))
        if draw(st.integers(0, 19)) == 0:
            values = values[:-1]  # one field short
        lines.append(",".join(values))
        if draw(st.integers(0, 19)) == 0:
            lines.append(draw(st.sampled_from(["", ",,,", " ", "\u00e9"])))
    text = ending.join(lines) + (ending if draw(st.booleans()) else "")
    return kind, text.encode("utf-8")


def strictly(results: list) -> list:
    """Results with every datetime's wall clock, offset, zone and fold spelled out."""

    def exact(value: object) -> object:
        if isinstance(value, datetime):
            return (value.isoformat(), value.tzinfo, value.fold, value.utcoffset(), value.timestamp())
        return repr(value)  # Decimal("12.5") and Decimal("12.50") differ here

    out = []
    for result in results:
        if isinstance(result, dc.Rejection):
            out.append(dataclasses.astuple(result))
        else:
            out.append((result.source, result.line, type(result.row).__name__, tuple(map(exact, result.row)), result.content_hash))
    return out


def parse(kind: str, data: bytes, *, block: int | None = None, simple: bool = True, quick: bool = True) -> list:
    with pytest.MonkeyPatch.context() as mp:
        if block is not None:
            mp.setattr(dc, "_BLOCK_BYTES", block)
        if not simple:
            mp.setattr(dc, "_is_simple", lambda text: False)
        if not quick:
            name = KINDS[kind]
            mp.setattr(dc, name, dataclasses.replace(getattr(dc, name), quick=lambda limit: lambda values, source, line: None))
        results = list(PARSERS[kind](io.BytesIO(data), source="f.csv"))
    for result in results:
        if isinstance(result, dc.Accepted):
            assert result.content_hash == dc.content_hash_of(result.row)
    return strictly(results)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(files(), st.sampled_from([1, 2, 5, 64, 300]))
def test_plausible_files_read_the_same_every_way(file: tuple[str, bytes], block: int) -> None:
    kind, data = file
    reference = parse(kind, data, simple=False, quick=False)
    assert parse(kind, data) == reference
    assert parse(kind, data, block=block) == reference
    assert parse(kind, data, simple=False) == reference
    assert parse(kind, data, quick=False, block=block) == reference


_ATOMS = st.sampled_from(
    list('abcT1,"\n\r -:.0229+Z\u00e9\x00\t\\\x1f')
    + ["completed", "2026-10-25 01:30", "2026-10-25 01:30:17", "0001-01-01T00:00", "-1.00", "2026-04-01", '"a\nb"', "\r\n"]
)
_JUNK = st.one_of(
    st.binary(max_size=400),
    st.lists(st.one_of(_ATOMS.map(str.encode), st.sampled_from([b"\xff", b"\xe9", b"\xc3", b"\xef\xbb\xbf"])), max_size=80).map(b"".join),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(sorted(HEADERS)), _JUNK, st.sampled_from([1, 3, 7, 64]), st.booleans())
def test_junk_reads_the_same_every_way(kind: str, body: bytes, block: int, with_header: bool) -> None:
    data = (",".join(HEADERS[kind]).encode() + b"\r\n" if with_header else b"") + body
    reference = parse(kind, data, simple=False, quick=False)
    assert parse(kind, data) == reference
    assert parse(kind, data, block=block) == reference
    assert parse(kind, data, simple=False, block=block) == reference


@pytest.mark.parametrize("block", [1, 4, 16, 1 << 20])
def test_rows_across_blocks(block: int) -> None:
    header = ",".join(dc.TRANSACTION_COLUMNS)
    text = (
        f"\ufeff{header}\r\n"
        'T1,ACC1,2026-04-01,-1.00,Shop,"two\r\nlines, quoted"\r\n'
        "T2,ACC1,2026-04-01,-2.00,,\r\n"
        '"T3",ACC1,2026-04-01,"-3.00","a ""quote""",\r\n'
        "\r\n"
        "T4,ACC1,2026-04-31,-4.00,,\r\n"
        "T5,ACC1,2026-04-01,-5.00,,"
    )
    data = text.encode()
    results = parse("transactions", data, block=block)
    assert results == parse("transactions", data, simple=False, quick=False)
    assert [r[1] for r in results] == [2, 4, 5, 7, 8]
    assert results[3][2:4] == ("date", "'2026-04-31' is not a real date")


def test_a_bad_byte_mid_file_costs_only_its_line() -> None:
    header = ",".join(dc.TRANSACTION_COLUMNS)
    rows = [f"T{i},ACC1,2026-04-01,-1.00,Shop,Note {i}" for i in range(5000)]
    data = ("\n".join([header, *rows]) + "\n").encode()
    at = data.index(b"Note 2500")
    data = data[:at] + b"\xff" + data[at + 1 :]
    for block in (1 << 20, 4096):
        results = parse("transactions", data, block=block)
        rejections = [r for r in results if r[2] == ""]
        assert len(results) == 5000 and len(rejections) == 1
        assert rejections[0][1] == 2502 and f"byte offset {at} in the file" in rejections[0][3]


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(list("ab ,\t\x00\u00e9\u2028\x85\x0b\x0c\x1c\x1f")), max_size=30))
def test_splitting_a_simple_line_at_commas_is_what_the_csv_reader_does(line: str) -> None:
    # A simple block's lines have no quote, no "\n" and (their "\r\n" made "\n") no "\r".
    assert dc._is_simple(line + "\r\n")
    assert line.split(",") == (next(csv.reader([line + "\r\n"], strict=True)) or [""])  # [""]: blank either way
    assert not dc._is_simple(line + "\r") and not dc._is_simple(line + '"')


# --- Times: remembered by the hour ------------------------------------------------------------------


def moment_or_none(value: str) -> datetime | None:
    try:
        return dc._moment(value)
    except dc._Bad:
        return None


def assert_same_moment(value: str, entry: tuple[datetime, str] | None) -> None:
    expected = moment_or_none(value)
    if expected is None:
        assert entry is None, value
        return
    assert entry is not None, value
    moment, text = entry
    assert moment.isoformat() == expected.isoformat(), value  # the same wall clock and offset
    assert (moment.tzinfo, moment.fold, moment.utcoffset()) == (expected.tzinfo, expected.fold, expected.utcoffset()), value
    assert text == expected.astimezone(dc.UTC).isoformat(), value


def test_remembered_times_are_exactly_the_times_across_the_clock_changes() -> None:
    get, miss = dc._moments(1 << 20)
    days = ["2026-03-29", "2026-10-25", "2027-03-28", "2027-10-31", "2026-07-01", "2999-12-31", "1900-01-01"]
    days += ["1941-05-04", "1945-07-15", "1947-08-10"]  # double summer time
    for day in days:
        for hour in range(24):
            for minute in (0, 1, 29, 30, 59):
                for second in ("", ":00", ":17", ":59"):
                    for offset in ("", "Z", "+01:00", "-05:30", "+0100"):
                        for sep in ("T", " "):
                            value = f"{day}{sep}{hour:02d}:{minute:02d}{second}{offset}"
                            assert_same_moment(value, get(value) or miss(value))
                            assert_same_moment(value, get(value) or miss(value))  # remembered


_TIME_PARTS = st.tuples(
    st.sampled_from(["2026-10-25", "2026-03-29", "2026-02-30", "1899-12-31", "2999-12-31", "2026-1-01", "abcd-ef-gh"]),
    st.sampled_from(["T", " ", "t", "_", ""]),
    st.sampled_from(["01", "00", "23", "24", "1", "99"]),
    st.sampled_from([":", "", "."]),
    st.sampled_from(["30", "00", "59", "60", "5", "99"]),
    st.sampled_from(["", ":00", ":17", ":59", ":60", ":5", ":", ".5", ":17.5", ":17.123456", ":17.1234567"]),
    st.sampled_from(["", "Z", "z", "+01:00", "-05:30", "+0100", "+1", "+24:00", "+01:", " ", "x"]),
)


@settings(max_examples=1000, deadline=None)
@given(_TIME_PARTS, st.integers(1, 4))
def test_remembered_times_agree_with_the_reference_on_any_text(parts: tuple[str, ...], limit: int) -> None:
    get, miss = dc._moments(limit)  # a tiny memory, forgotten often
    value = "".join(parts)
    for _ in range(2):
        assert_same_moment(value, get(value) or miss(value))


def test_london_changes_its_offset_only_on_the_hour() -> None:
    # What remembering by the hour rests on, checked for the years where London's rules changed most.
    moment = datetime(1939, 12, 31, tzinfo=dc.UTC)
    end = datetime(1949, 1, 1, tzinfo=dc.UTC)
    while moment < end:
        assert moment.astimezone(LONDON).utcoffset() == (moment + timedelta(minutes=59, seconds=59)).astimezone(LONDON).utcoffset()
        assert moment.astimezone(LONDON).utcoffset() % timedelta(hours=1) == timedelta(0)
        moment += timedelta(hours=1)
