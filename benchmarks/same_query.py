"""The DuckDB reference query of ``recompute.py``, run on SQLite and on PostgreSQL themselves.

The recompute's target is 3x a hand-written DuckDB query with its tables in memory. These
are the same query in each database's own dialect, over the same exported CSV files, so
that a reader can see what the databases careledger runs on take to compute the same
figures set-based, with no Python at all:

* **PostgreSQL**: the same statement, made from DuckDB's by replacing each phrase of
  :data:`POSTGRES_DIALECT` (intervals, the weekday by ``EXTRACT(ISODOW ...)``, no HUGEINT),
  with the session's zone Europe/London as DuckDB's, in a database made for it and dropped after.
* **SQLite** (in memory, as DuckDB's tables are): it has no time zones, no series and no
  hash join, and the one statement ran for more than ten minutes on 100 packages (its
  ``FULL OUTER JOIN`` against an unindexed CTE is a nested loop). So it is written as a
  SQLite user would: London's offsets as a table of spans (made from ``zoneinfo``), the
  slots and the local day of each planned start put in temporary tables with indexes (timed
  with the query), and the full join spelt as slots ``LEFT JOIN`` visits plus the visits at
  no slot. Rates are read as whole ten-thousandths of a pound (the export writes four places).

Each is timed best of ``repeat`` and returns the same figures as ``recompute.duckdb_figures``.
"""

from __future__ import annotations

import csv
import sqlite3
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
TEXT = "%Y-%m-%d %H:%M:%S"  # naive UTC, as careledger's SQLite stores a time

# PostgreSQL's dialect of each DuckDB phrase in ``recompute.REFERENCE_SQL`` (each must occur: see postgres_sql).
POSTGRES_DIALECT = (
    ("INTERVAL 1 DAY", "INTERVAL '1 day'"),
    ("list_contains(string_split(p.days, ','), ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'][isodow(d.day)])",
     "(ARRAY['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'])[EXTRACT(ISODOW FROM d.day)] = ANY (string_to_array(p.days, ','))"),
    ("INTERVAL 2 HOUR", "INTERVAL '2 hours'"),
    ("INTERVAL 1 MINUTE", "INTERVAL '1 minute'"),
    ("INTERVAL 30 MINUTE", "INTERVAL '30 minutes'"),
    ("isodow(e.day)", "EXTRACT(ISODOW FROM e.day)"),
    ("isodow(p.local_day)", "EXTRACT(ISODOW FROM p.local_day)"),
    ("CAST(SUM(", "SUM("),  # (PostgreSQL's SUM of bigints is a numeric already: no HUGEINT)
    ("ELSE 0 END) AS HUGEINT) AS rate_minutes", "ELSE 0 END) AS rate_minutes"),
)  # fmt: skip


def postgres_sql(duckdb_sql: str) -> str:
    """The DuckDB reference statement in PostgreSQL's dialect, word for word otherwise."""
    for duckdb_phrase, postgres_phrase in POSTGRES_DIALECT:
        if duckdb_phrase not in duckdb_sql:
            raise ValueError(f"the reference query no longer says {duckdb_phrase!r}: update POSTGRES_DIALECT")
        duckdb_sql = duckdb_sql.replace(duckdb_phrase, postgres_phrase)
    return duckdb_sql


POSTGRES_TABLES = (
    "CREATE TABLE services (person_ref text, service_ref text, budget_start date, budget_end date, standard numeric(10,4), weekend numeric(10,4), bank_holiday numeric(10,4), "
    "budget numeric(12,2))",
    "CREATE TABLE patterns (person_ref text, service_ref text, days text, start_time time, minutes int)",
    "CREATE TABLE bank_holidays (day date)",
    "CREATE TABLE visits (person_ref text, service_ref text, planned_start timestamptz, planned_minutes int, actual_start timestamptz, actual_seconds int, status text)",
)


def postgres_reference(folder: Path, url: str, as_of: date, duckdb_sql: str, repeat: int = 3) -> tuple[float, float, list[tuple]]:
    """(best seconds, loading seconds, rows) of ``duckdb_sql`` (in PostgreSQL's dialect) in a database made at ``url`` and dropped after."""
    import psycopg

    base, name = url.rsplit("/", 1)
    admin = psycopg.connect(f"{base}/postgres", autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        sql = postgres_sql(duckdb_sql).format(as_of=as_of.isoformat())
        began = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("SET TimeZone = 'Europe/London'")
            for statement in POSTGRES_TABLES:
                db.execute(statement)
            for table in ("services", "patterns", "bank_holidays", "visits"):
                with db.cursor().copy(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)") as copy, open(folder / f"{table}.csv", "rb") as f:
                    while block := f.read(1 << 20):
                        copy.write(block)
            db.execute("VACUUM ANALYZE")
            loading = time.perf_counter() - began
            best, rows = None, []
            for _ in range(repeat):
                began = time.perf_counter()
                rows = db.execute(sql).fetchall()
                took = time.perf_counter() - began
                best = took if best is None else min(best, took)
        return best, loading, rows
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


SQLITE_STEPS = (
    # Each pattern's start time on each day, as UTC (London's offset found once per day and time, not per slot)
    """CREATE TEMP TABLE wall AS
    WITH RECURSIVE cal(day) AS (SELECT (SELECT MIN(budget_start) FROM services) UNION ALL SELECT date(day, '+1 day') FROM cal WHERE day < (SELECT MAX(budget_end) FROM services)),
    times AS (SELECT DISTINCT start_time FROM patterns)
    SELECT c.day, t.start_time, datetime(c.day || ' ' || t.start_time, '-' || z.minutes || ' minutes') AS utc,
           substr('SUMOTUWETHFRSA', 2 * CAST(strftime('%w', c.day) AS INTEGER) + 1, 2) AS dow
    FROM cal c, times t JOIN zone z ON c.day || ' ' || t.start_time >= z.local_from AND c.day || ' ' || t.start_time < z.local_to""",
    """CREATE TEMP TABLE slots AS
    SELECT s.person_ref, s.service_ref, w.utc AS start, p.minutes
    FROM services s JOIN patterns p ON p.person_ref = s.person_ref AND p.service_ref = s.service_ref
    JOIN wall w ON w.start_time = p.start_time AND w.day BETWEEN s.budget_start AND MIN(s.budget_end, '{as_of}')
    WHERE instr(',' || p.days || ',', ',' || w.dow || ',') > 0""",
    "CREATE INDEX slots_key ON slots (person_ref, service_ref, start)",
    # The slots after as_of at their day's rate (the forecast's cost still to come), by person
    """CREATE TEMP TABLE to_come AS
    SELECT s.person_ref, SUM(p.minutes * CAST(replace(CASE WHEN b.day IS NOT NULL AND s.bank_holiday <> '' THEN s.bank_holiday
                                                          WHEN w.dow IN ('SA', 'SU') AND s.weekend <> '' THEN s.weekend
                                                          ELSE s.standard END, '.', '') AS INTEGER)) AS rate_minutes
    FROM services s JOIN patterns p ON p.person_ref = s.person_ref AND p.service_ref = s.service_ref
    JOIN wall w ON w.start_time = p.start_time AND w.day > '{as_of}' AND w.day BETWEEN s.budget_start AND s.budget_end
    LEFT JOIN bank_holidays b ON b.day = w.day
    WHERE instr(',' || p.days || ',', ',' || w.dow || ',') > 0
    GROUP BY s.person_ref""",
    # The local day of each planned start (they repeat across people)
    """CREATE TEMP TABLE moments AS
    SELECT m.planned_start AS utc, date(m.planned_start, '+' || z.minutes || ' minutes') AS local_day
    FROM (SELECT DISTINCT planned_start FROM visits) m JOIN zone z ON m.planned_start >= z.utc_from AND m.planned_start < z.utc_to""",
    "CREATE UNIQUE INDEX moments_key ON moments (utc)",
)

SQLITE_SQL = """
WITH span AS (
    SELECT person_ref, MIN(budget_start) AS first, MIN(budget_end) AS last, MIN(budget) AS budget FROM services GROUP BY person_ref
), reported AS (
    SELECT v.* FROM visits v JOIN span USING (person_ref)
    WHERE v.planned_start >= datetime(span.first, '-2 hours') AND v.planned_start < :end
), lines AS (
    SELECT s.person_ref, s.service_ref, s.start AS slot_start, s.minutes, s.start AS committed,
           v.planned_minutes AS visit_minutes, v.planned_start, v.actual_start, v.actual_seconds, v.status
    FROM slots s LEFT JOIN reported v ON v.person_ref = s.person_ref AND v.service_ref = s.service_ref AND v.planned_start = s.start
    UNION ALL
    SELECT v.person_ref, v.service_ref, NULL, v.planned_minutes, v.planned_start, v.planned_minutes, v.planned_start, v.actual_start, v.actual_seconds, v.status
    FROM reported v WHERE NOT EXISTS (SELECT 1 FROM slots s WHERE s.person_ref = v.person_ref AND s.service_ref = v.service_ref AND s.start = v.planned_start)
), priced AS (
    SELECT l.*, m.local_day,
           CASE WHEN l.status <> 'completed' OR l.actual_seconds IS NULL THEN 0
                WHEN l.actual_seconds >= (l.visit_minutes - 5) * 60 THEN l.visit_minutes
                ELSE MIN(l.visit_minutes, 5 * ((l.actual_seconds + 150) / 300)) END AS payable
    FROM lines l LEFT JOIN moments m ON m.utc = l.planned_start
), figures AS (
SELECT p.person_ref,
       COUNT(p.slot_start) AS scheduled,
       SUM(p.status = 'completed') AS delivered,
       SUM(p.status IN ('missed', 'cancelled_by_provider')
           OR (p.status IS NULL AND datetime(p.slot_start, '+' || (p.minutes + 120) || ' minutes') <= :end)) AS missed,
       SUM(p.status = 'completed' AND p.actual_start > datetime(p.committed, '+30 minutes')) AS late,
       SUM(p.status = 'completed' AND p.actual_seconds * 100 < p.minutes * 60 * 80) AS short,
       SUM(p.slot_start IS NULL) AS unplanned,
       SUM(CASE WHEN p.slot_start IS NOT NULL THEN p.minutes ELSE 0 END) AS planned_minutes,
       SUM(CASE WHEN p.status = 'completed' THEN p.actual_seconds ELSE 0 END) AS delivered_seconds,
       SUM(CASE WHEN p.payable > 0 AND p.local_day BETWEEN s.budget_start AND '{as_of}'
                THEN p.payable * CAST(replace(CASE WHEN b.day IS NOT NULL AND s.bank_holiday <> '' THEN s.bank_holiday
                                                   WHEN strftime('%w', p.local_day) IN ('0', '6') AND s.weekend <> '' THEN s.weekend
                                                   ELSE s.standard END, '.', '') AS INTEGER)
                ELSE 0 END) AS rate_minutes
FROM priced p
LEFT JOIN services s ON s.person_ref = p.person_ref AND s.service_ref = p.service_ref
LEFT JOIN bank_holidays b ON b.day = p.local_day
GROUP BY p.person_ref
)
SELECT f.*, COALESCE(t.rate_minutes, 0) AS to_come, sp.budget, sp.first, sp.last
FROM figures f JOIN span sp USING (person_ref) LEFT JOIN to_come t USING (person_ref)
ORDER BY f.person_ref
"""


def london_spans(first: datetime, last: datetime) -> list[tuple[str, str, str, str, int]]:
    """Europe/London from ``first`` to ``last`` as spans of one offset: (UTC from, UTC to, local from, local to, minutes)."""
    spans, at = [], first
    start, offset = at, at.astimezone(LONDON).utcoffset()
    while at < last:
        at += timedelta(hours=1)  # (London changes its clocks on the hour)
        now = at.astimezone(LONDON).utcoffset()
        if now != offset:
            spans.append((start, at, offset))
            start, offset = at, now
    spans.append((start, at, offset))
    return [(a.strftime(TEXT), b.strftime(TEXT), (a + o).strftime(TEXT), (b + o).strftime(TEXT), int(o.total_seconds() // 60)) for a, b, o in spans]


def sqlite_reference(folder: Path, as_of: date, repeat: int = 3) -> tuple[float, float, list[tuple]]:
    """(best seconds, loading seconds, rows) of the query in an in-memory SQLite database."""
    began = time.perf_counter()
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE services (person_ref text, service_ref text, budget_start text, budget_end text, standard text, weekend text, bank_holiday text, budget text)")
    db.execute("CREATE TABLE patterns (person_ref text, service_ref text, days text, start_time text, minutes int)")
    db.execute("CREATE TABLE bank_holidays (day text PRIMARY KEY)")
    db.execute("CREATE TABLE visits (person_ref text, service_ref text, planned_start text, planned_minutes int, actual_start text, actual_seconds int, status text)")
    db.execute("CREATE TABLE zone (utc_from text, utc_to text, local_from text, local_to text, minutes int)")
    db.executemany("INSERT INTO zone VALUES (?, ?, ?, ?, ?)", london_spans(datetime(2019, 12, 31, tzinfo=UTC), datetime(2036, 1, 1, tzinfo=UTC)))

    def load(table: str, convert=lambda row: row) -> None:
        with open(folder / f"{table}.csv", newline="") as f:
            rows = csv.reader(f)
            width = len(next(rows))
            db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * width)})", (convert(row) for row in rows))

    for table in ("services", "patterns", "bank_holidays"):
        load(table)
    # Times as naive UTC text (the export writes "+00"), numbers as numbers
    load("visits", lambda r: (r[0], r[1], r[2][:19], int(r[3]), r[4][:19] or None, int(r[5]) if r[5] else None, r[6]))
    db.execute("CREATE INDEX visits_key ON visits (person_ref, service_ref, planned_start)")
    db.execute("ANALYZE")
    loading = time.perf_counter() - began
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time(), LONDON).astimezone(UTC).strftime(TEXT)
    best, rows = None, []
    for _ in range(repeat):
        began = time.perf_counter()
        for table in ("wall", "slots", "to_come", "moments"):
            db.execute(f"DROP TABLE IF EXISTS temp.{table}")
        for step in SQLITE_STEPS:
            db.execute(step.format(as_of=as_of.isoformat()))
        rows = db.execute(SQLITE_SQL.format(as_of=as_of.isoformat()), {"end": end}).fetchall()
        took = time.perf_counter() - began
        best = took if best is None else min(best, took)
    db.close()
    return best, loading, rows
