"""Statuses of many packages at once, set-based: what ``careledger recompute`` runs.

:func:`monitoring.services.package_view` judges one package visit by visit, for the pages
that show every visit. A council-year is 2,000 packages and 2 million visits; here the
same figures come from a fixed number of queries for the whole council (plans, contracts,
outcomes and reviews, refunds, direct payment transactions, carers) and, over their visits, one
or two for every 150 people on PostgreSQL, one for each person on SQLite (:func:`read_many`):

* the **simple** visits (``domain.tally``: completed, on time, long enough, whole-second
  clock times) are counted by the database, which sends each one's key (its planned start
  and minutes; with its payable minutes if they differ) grouped by person and service;
* **every other visit** comes with them, its fields in its code, and is judged one by one by
  ``delivery.match`` and ``delivery.classify``, as on the package page. So are the simple visits
  that are not alone at a slot of their own (a second query reads them), and the visits of a
  carer whose recorded gender could breach the person's preference (never simple).

``domain.tally`` adds the two parts up; its property tests hold it to the one-by-one path,
and ``tests/integration/test_recompute_agreement.py`` holds this module to
``package_view`` on a generated council. :func:`simple_sql` is the database's half of
``tally.simple_parts`` (both spelt here side by side, for SQLite and PostgreSQL).
"""

from __future__ import annotations

import functools
import gc
import json
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection, models

from careledger.domain.affordability import Affordability
from careledger.domain.alerts import Alert as DomainAlert
from careledger.domain.alerts import AlertThresholds, SpendPolicy
from careledger.domain.delivery import DeliveredVisit
from careledger.domain.plans import DeliveryMechanism, Plan
from careledger.domain.rules import DEFAULT_RULES, MonitoringRules
from careledger.domain.status import ReviewState, end_of_day
from careledger.domain.tally import Reported, SimpleVisits, SlotBook, SlotSpan, Tally, not_at_a_slot, simple_parts, tally, utc_text
from careledger.ingest.merge import datetime_adapter
from careledger.ingest.models import Carer, Transaction, Visit
from careledger.outcomes.selectors import review_states
from careledger.records.bulk import StoredVersion, contracts_by_id, versions_by_person
from careledger.records.mapping import council_spend_policy
from careledger.records.models import Person
from careledger.records.selectors import _in_force  # works on stored versions too: it reads effective_from and number

from . import services as _services

__all__ = ["PackageResult", "statuses"]


@dataclass(frozen=True)
class PackageResult:
    """One package's status as at a date, with what it was judged from (for storing and the ledger)."""

    person_id: int
    person_ref: str
    as_of: date
    plan: Plan
    version: StoredVersion
    plans: tuple[tuple[date, Plan], ...]
    rules: MonitoringRules
    status: dict
    tally: Tally
    affordability: Affordability
    alerts: tuple[DomainAlert, ...]
    transactions: tuple[tuple, ...]  # a direct payment's (ref, date, amount, account ref) up to as_of
    person: Person | None = None  # set by status_of and refresh


# -- the council's plans, rules and everything read once ----------------------------------------


@dataclass(frozen=True)
class _Package:
    person_id: int
    person_ref: str
    version: StoredVersion
    plans: tuple[tuple[date, Plan], ...]
    plan: Plan
    rules: MonitoringRules
    thresholds: AlertThresholds


def _packages(council_id: int, people: Mapping[int, str], as_of: date) -> tuple[dict[int, _Package], dict[str, str]]:
    """The package in force on ``as_of`` of each person (as ``package_view`` finds it), and why not for the rest."""
    from careledger.domain.alerts import DEFAULT_THRESHOLDS

    versions = versions_by_person(council_id=council_id, person_ids=list(people))
    contracts = contracts_by_id(council_id=council_id, contract_ids={v.contract_id for vs in versions.values() for v in vs if v.contract_id})
    found, failed = {}, {}
    for person_id, ref in people.items():
        in_force = _in_force(versions.get(person_id, []))
        current = [v for v in in_force if v.effective_from <= as_of]
        if not current:
            failed[ref] = f"person {ref!r} has no care plan in force on {as_of.isoformat()}"
            continue
        version = current[-1]
        plans = tuple((v.effective_from, v.plan) for v in in_force if v.budget_id == version.budget_id)
        budget = version.plan.budget
        if as_of < budget.start_date:
            failed[ref] = f"{as_of.isoformat()} is before the budget starts ({budget.start_date.isoformat()})"
            continue
        settings = contracts.get(version.contract_id) if version.contract_id else None
        found[person_id] = _Package(
            person_id, ref, version, plans, version.plan,
            settings.rules if settings else DEFAULT_RULES, settings.thresholds if settings else DEFAULT_THRESHOLDS,
        )  # fmt: skip
    return found, failed


# -- slots: each pattern's year expanded and keyed once per process ----------------------------


@functools.lru_cache(maxsize=2048)  # a year of one pattern: ~400 slots keyed (a few hundred kB)
def _span(span: tuple, rates) -> SlotSpan:
    slots = _services._occurrences(*span)
    return SlotSpan(span[4], slots, [f"{utc_text(s.start)}/{s.minutes}" for s in slots], [rates.rate_for(s.local_date) for s in slots])


def slot_book(plans: Sequence[tuple[date, Plan]], first: date, last: date) -> SlotBook:
    """The package's slots from ``first`` to ``last``, keyed as the query spells a visit's start
    (naive UTC text), each at the rate of the first service with its ref in the slot's own plan version (as
    ``tally.priced_by_day`` prices a visit)."""
    spans = []
    for plan, service, span in _services._spans(list(plans), first, last, with_plan=True):
        card = next(s.rates for s in plan.services if s.ref == service.ref)
        spans.append(_span(span, card))
    return SlotBook(spans)


# -- the visits: simple ones summarised by the database, the rest in full -----------------------

def simple_sql(vendor: str, rules: MonitoringRules) -> tuple[str, str, str, str]:
    """The database's half of ``tally.simple_parts``: (is simple, payable minutes, under the minimum, key).

    Integers from the rules are written into the SQL (they are checked whole numbers, see
    ``MonitoringRules``). ``actual_seconds`` is stored by the import as check-out minus
    check-in in whole seconds, and ``start_offset_seconds`` as check-in minus planned start,
    only when all three times are whole seconds (``tally.start_offset_seconds``): so a simple
    visit is judged by comparing integers, and its duration is exactly ``actual_seconds``.
    """
    secs, planned = "v.actual_seconds", "v.planned_minutes"
    least = "MIN" if vendor == "sqlite" else "LEAST"
    step = rules.rounding_step_minutes
    rounded = {
        "nearest": f"(({secs} + {30 * step}) / {60 * step} * {step})",
        "up": f"(({secs} + {60 * step - 1}) / {60 * step} * {step})",
        "down": f"({secs} / {60 * step} * {step})",
        "none": f"({secs} / 60)",
    }[rules.rounding]
    if rules.payment_basis == "planned":
        pay = planned
    elif rules.payment_basis == "planned_within_tolerance":
        pay = f"(CASE WHEN {secs} >= ({planned} - {rules.payment_tolerance_minutes}) * 60 THEN {planned} ELSE {least}({planned}, {rounded}) END)"
    else:
        pay = f"{least}({planned}, {rounded})"
    whole_minutes = ""
    if rules.rounding == "none" and rules.payment_basis != "planned":  # an odd clock pays a fraction of a minute: one by one
        full = f"{secs} >= ({planned} - {rules.payment_tolerance_minutes}) * 60" if rules.payment_basis == "planned_within_tolerance" else "0 = 1"
        whole_minutes = f" AND ({full} OR {secs} %% 60 = 0)"  # (%% is % once the parameters are put in)
    if vendor == "sqlite":
        key = f"v.planned_start || '/' || {planned}"  # stored as naive UTC text (Django's format)
    else:
        key = f"CAST(v.planned_start AT TIME ZONE 'UTC' AS TEXT) || '/' || {planned}"  # spelt as SQLite stores it
    simple = (
        f"v.status = 'completed' AND v.start_offset_seconds <= {rules.late_after_minutes * 60} "
        f"AND {secs} * 100 >= {planned} * {60 * rules.short_below_percent}{whole_minutes}"
    )
    under = f"(CASE WHEN {secs} < {rules.minimum_visit_minutes * 60} AND {planned} >= {rules.minimum_visit_minutes} THEN 1 ELSE 0 END)"
    return simple, pay, under, key


RECORD, UNIT = "\x1e", "\x1f"  # the separators of the codes, and of a visit's fields in its code
SEMI, SEMI_CHAR = "';'", ";"  # (between a simple visit's key and its payable minutes: in SQL, and as read)


@dataclass(frozen=True)
class _Sql:
    """The pieces of the visit queries for one database and set of rules (:func:`_chunk_query`,
    :func:`_person_queries`, :func:`_at_query`)."""

    concat: str  # an aggregate joining text with the record separator
    text: str  # a stored time as naive UTC text
    simple: str  # is the visit simple (with its suspects, a JSON list parameter)
    code: str  # a simple visit's code
    other: str  # every other visit's fields
    under: str  # 1 if a simple visit is under the minimum

    def summaries(self, c0: str, c1: str) -> str:
        """The summary columns of a group of visits: the simple visits' codes, every other visit's fields,
        the simple ones' clocked seconds and how many were under the minimum, and the carers of the visits
        checked in within (``c0``, ``c1``] (the continuity window: SQL for two instants).

        The simple test is written four times (the suspects' parameter with it each time), then the
        continuity window's two instants; PostgreSQL's chunk query passes a column instead of the test.
        The carers come without DISTINCT: a DISTINCT aggregate sorts each group's values, and Python's set
        of a few dozen refs costs less; ``status.carers_seen`` counts the same in either part."""
        began = "COALESCE(v.actual_start, v.planned_start)"
        recent = f"v.status IN ('completed', 'in_progress') AND v.carer_ref <> '' AND {began} > {c0} AND {began} <= {c1}"
        simple, concat = self.simple, self.concat
        return (
            f"{concat.format(f'CASE WHEN {simple} THEN {self.code} END')}, {concat.format(f'CASE WHEN {simple} THEN NULL ELSE {self.other} END')}, "
            f"SUM(CASE WHEN {simple} THEN v.actual_seconds END), SUM(CASE WHEN {simple} THEN {self.under} END), "
            f"{concat.format(f'CASE WHEN {recent} THEN v.carer_ref END')}"
        )


@functools.lru_cache(maxsize=64)
def _sql(vendor: str, rules: MonitoringRules, suspects: bool) -> _Sql:
    simple, pay, under, key = simple_sql(vendor, rules)
    if vendor == "sqlite":
        concat, text, listed = "group_concat({}, char(30))", "CAST({} AS TEXT)", "(SELECT value FROM json_each(%s))"
    else:
        concat, text, listed = "string_agg({}, chr(30))", "CAST({} AT TIME ZONE 'UTC' AS TEXT)", "(SELECT jsonb_array_elements_text(CAST(%s AS jsonb)))"
    if suspects:  # a carer whose recorded gender may breach the person's preference makes no visit simple
        simple = f"{simple} AND v.carer_ref NOT IN {listed}"
    # Every other visit's fields (refs hold no control characters, so the unit and record separators part them).
    # The last two: the check-in's offset and the clocked seconds (whole numbers, empty unless all three times are whole seconds).
    fields = [text.format("v.planned_start"), "v.ref", "v.carer_ref", "CAST(v.planned_minutes AS TEXT)", f"COALESCE({text.format('v.actual_start')}, '')",
              f"COALESCE({text.format('v.actual_end')}, '')", "v.status", "CAST(v.provider_id AS TEXT)",
              "COALESCE(CAST(v.start_offset_seconds AS TEXT), '')", "COALESCE(CAST(v.actual_seconds AS TEXT), '')"]  # fmt: skip
    unit = "char(31)" if vendor == "sqlite" else "chr(31)"
    # The simple visits' codes in one column (the simple test and the payable minutes worked out
    # once per visit): "<key>" for those paid their planned minutes, "<key>;<payable>" for the rest.
    code = f"CASE WHEN {pay} = v.planned_minutes THEN {key} ELSE {key} || {SEMI} || CAST({pay} AS TEXT) END"
    return _Sql(concat, text, simple, code, f" || {unit} || ".join(fields), under)


@functools.lru_cache(maxsize=64)
def _chunk_query(rules: MonitoringRules, suspects: bool) -> str:
    """PostgreSQL: for any number of people, each with their own window, by person and service, the
    simple visits summarised and every other visit in full (:meth:`_Sql.summaries`).

    The people come as an ``unnest`` of arrays (one plan for any number of them), each joined
    ``LATERAL`` to their own visits and grouped there: each person's thousand visits are sorted in
    memory, where grouping the whole chunk at once sorted 160,000 rows on disk past ``work_mem``
    (measured on the benchmark's council: 1.17-1.19 ms a package against 1.45-1.50). The simple
    test is worked out once a visit, in a subquery that ``OFFSET 0`` keeps PostgreSQL from
    flattening (flattened, it evaluates the test in each of the four aggregates that read it:
    1.30-1.61 ms a package against 1.20-1.39, 600 packages, alternating runs). Parameters: the
    five arrays, then the suspects once (when there are any).
    """
    sql = _sql("postgresql", rules, suspects)
    people = (
        "unnest(CAST(%s AS bigint[]), CAST(%s AS timestamptz[]), CAST(%s AS timestamptz[]), CAST(%s AS timestamptz[]), "
        "CAST(%s AS timestamptz[])) AS w(pid, lo, hi, c0, c1)"
    )
    visits = (
        f"(SELECT v.*, ({sql.simple}) AS simple_ FROM {Visit._meta.db_table} v "
        "WHERE v.person_id = w.pid AND v.planned_start >= w.lo AND v.planned_start < w.hi OFFSET 0) v"
    )
    once = replace(sql, simple="v.simple_")
    return f"SELECT w.pid, x.* FROM {people} CROSS JOIN LATERAL (SELECT v.service_ref, {once.summaries('w.c0', 'w.c1')} FROM {visits} GROUP BY v.service_ref) x"


@functools.lru_cache(maxsize=256)
def _at_query(vendor: str, rules: MonitoringRules, suspects: bool, strays: int) -> str:
    """The simple visits at ``strays`` given (person, planned start) pairs (those that cannot stay
    summarised), as rows. The pairs come as a table of parameters first: SQLite's ``VALUES``
    (``CROSS JOIN`` has it read them first and each visit by the index), PostgreSQL's ``unnest`` of
    two arrays (``strays`` is then 1); the suspects' parameter after."""
    sql = _sql(vendor, rules, suspects)
    if vendor == "sqlite":
        pairs = f"(WITH s(pid, start) AS (VALUES {', '.join(['(%s, %s)'] * max(strays, 1))}) SELECT * FROM s) s CROSS JOIN"
    else:
        pairs = "unnest(CAST(%s AS bigint[]), CAST(%s AS timestamptz[])) AS s(pid, start) JOIN"
    text = sql.text
    columns = (
        f"v.person_id, v.ref, v.service_ref, v.carer_ref, {text.format('v.planned_start')}, v.planned_minutes, {text.format('v.actual_start')}, "
        f"{text.format('v.actual_end')}, v.status, v.provider_id"
    )
    table = Visit._meta.db_table
    return f"SELECT {columns}, v.actual_seconds FROM {pairs} {table} v ON v.person_id = s.pid AND v.planned_start = s.start WHERE (CASE WHEN {sql.simple} THEN 1 ELSE 0 END) = 1"


@functools.lru_cache(maxsize=64)
def _person_queries(rules: MonitoringRules, suspects: bool) -> tuple[str, str]:
    """SQLite: one person's summaries, by the index's equality on them and range on the planned start.

    (1) over the whole range, with ``MIN`` of the service second and ``MAX`` last: when they are
    equal the visits are of one service (the bare ``v.service_ref`` beside ``MIN`` is then
    that one) and no GROUP BY needs a sort; (2) grouped by service, for a person whose visits are of
    several. Parameters: the suspects four times (when there are any), the continuity window, then
    the person and their window.
    """
    sql = _sql("sqlite", rules, suspects)
    one = f"{Visit._meta.db_table} v WHERE v.person_id = %s AND v.planned_start >= %s AND v.planned_start < %s"
    summaries = sql.summaries("%s", "%s")
    return (
        f"SELECT v.person_id, MIN(v.service_ref), {summaries}, MAX(v.service_ref) FROM {one}",
        f"SELECT v.person_id, v.service_ref, {summaries} FROM {one} GROUP BY v.service_ref",
    )


def _utc_moment(value):
    """A stored time (naive UTC text, or an aware datetime) as an aware UTC datetime; None as None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(value + "+00:00")  # (parsing the offset is faster than replacing the zone after)


def _rows_to_visits(rows: list[tuple], person_ref: str) -> tuple[list[DeliveredVisit], list[tuple]]:
    """(ref, service, carer, planned start, minutes, actual start, actual end, status, provider id) rows as visits."""
    moment = _services._moment  # (planned starts repeat across people: parsed once; check-ins and check-outs seldom do)
    rows = [(r[0], r[1], r[2], moment(r[3]), r[4], _utc_moment(r[5]), _utc_moment(r[6]), r[7], r[8]) for r in rows]
    make = DeliveredVisit.stored
    return [make(r[0], person_ref, r[1], r[2] or None, r[3], r[4], r[5], r[6], r[7]) for r in rows], rows


@dataclass
class _Visits:
    simple: list[SimpleVisits]
    rest: list[DeliveredVisit]  # the simple visits moved out of the summaries (not alone at a slot)
    pairs: set[tuple[int, str]]  # (provider id, carer ref) of the visits read in full, for their genders
    reported: list[Reported]  # every other visit, judged from its numbers where it is alone at a slot


def _visit_of(fields: Sequence[str], person_ref: str, service: str, start: datetime) -> DeliveredVisit:
    """A visit from its fields in the query's code (what ``Reported.visit`` makes, when it is asked)."""
    moment = _services._moment  # (check-ins and check-outs cluster at the same minutes across people: parsed once each, as planned starts are)
    f = fields
    return DeliveredVisit.stored(f[1], person_ref, service, f[2] or None, start, int(f[3]), moment(f[4]) if f[4] else None, moment(f[5]) if f[5] else None, f[6])


@dataclass(frozen=True)
class VisitRead:
    """What to read of one person's visits: those planned from ``first`` to before ``before``.

    ``book``: the slots the simple visits must sit at; ``suspects``: carers whose recorded gender
    differs from the person's preference (their visits are never simple); ``continuity``: the
    window (exclusive, inclusive] in which a check-in makes a carer a recent one.
    """

    person_id: int
    person_ref: str
    first: datetime
    before: datetime
    rules: MonitoringRules
    book: SlotBook
    suspects: frozenset[str]
    continuity: tuple[datetime, datetime]


CHUNK = 150  # people a query reads at once (5 parameters each: under SQLite's oldest limit of 999)


def read_visits(person_id: int, person_ref: str, first: datetime, before: datetime, rules: MonitoringRules, book: SlotBook,
                suspects: Collection[str], continuity: tuple[datetime, datetime]) -> _Visits:  # fmt: skip
    """One person's visits planned from ``first`` to before ``before``: simple ones summarised, the rest in full (see :func:`read_many`)."""
    return read_many([VisitRead(person_id, person_ref, first, before, rules, book, frozenset(suspects), continuity)])[person_id]


def read_many(reads: Sequence[VisitRead]) -> dict[int, _Visits]:
    """Many people's visits, simple ones summarised and the rest in full, by person id.

    People with the same rules and suspects are read together, :data:`CHUNK` at a time: the
    summaries, with every other visit's fields in its code (PostgreSQL: one query for the chunk;
    SQLite: one for each person, see :func:`_person_queries`); and, when some simple visits are
    not alone at a slot of their own (``tally.not_at_a_slot``, found from the first answer),
    those visits as rows (one more query).
    """
    together: dict[tuple, list[VisitRead]] = defaultdict(list)
    for read in reads:
        together[(read.rules, read.suspects)].append(read)
    found: dict[int, _Visits] = {}
    for (rules, suspects), group in together.items():
        for at in range(0, len(group), CHUNK):
            found.update(_read_chunk(group[at : at + CHUNK], rules, suspects))
    return found


def _table(vendor: str, columns: Sequence[Sequence]) -> list:
    """Rows of parameters as the query's table takes them: SQLite, row after row; PostgreSQL, one array per column."""
    if vendor == "sqlite":
        return [value for row in zip(*columns, strict=True) for value in row]
    return [list(column) for column in columns]


def _read_chunk(reads: Sequence[VisitRead], rules: MonitoringRules, suspects: frozenset[str]) -> dict[int, _Visits]:
    vendor = connection.vendor
    to_db = datetime_adapter()
    listed = [json.dumps(sorted(suspects))] if suspects else []
    moment = _services._moment
    by_id = {read.person_id: read for read in reads}
    groups: dict[int, dict[str, list]] = {r.person_id: {} for r in reads}
    planned: dict[int, dict[str, list[datetime]]] = {r.person_id: {} for r in reads}
    stray: dict[int, dict[str, set[str]]] = {}
    visits: dict[int, list[DeliveredVisit]] = {r.person_id: [] for r in reads}
    reported: dict[int, list[Reported]] = {r.person_id: [] for r in reads}
    pairs_of: dict[int, set[tuple[int, str]]] = {r.person_id: set() for r in reads}  # (provider id, carer ref) of those, for genders
    moved: dict[int, list[tuple]] = defaultdict(list)
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            found_rows = _sqlite_summaries(cursor, reads, rules, suspects, listed, to_db)
        else:
            people = _table(vendor, [
                [r.person_id for r in reads], [to_db(r.first) for r in reads], [to_db(r.before) for r in reads],
                [to_db(r.continuity[0]) for r in reads], [to_db(r.continuity[1]) for r in reads],
            ])  # fmt: skip
            cursor.execute(_chunk_query(rules, bool(suspects)), [*people, *listed])  # (the table, then the simple test's suspects once)
            found_rows = cursor.fetchall()
        for person_id, service, codes, others, seconds, under, carers in found_rows:
            codes = codes.split(RECORD) if codes else []
            groups[person_id][service] = [
                [c for c in codes if SEMI_CHAR not in c], [c for c in codes if SEMI_CHAR in c], int(seconds or 0),
                sorted(set(carers.split(RECORD))) if carers else [], int(under or 0),
            ]  # fmt: skip
            if not others:
                planned[person_id][service] = []
                continue
            ref = by_id[person_id].person_ref
            fields = [code.split(UNIT) for code in others.split(RECORD)]
            starts = [moment(f[0]) for f in fields]
            planned[person_id][service] = starts
            reported[person_id] += [
                Reported(service, f[1], f[2] or None, start, int(f[3]), f[6], int(f[8]) if f[8] else None, int(f[9]) if f[8] else None, _visit_of, (f, ref, service, start))
                for f, start in zip(fields, starts, strict=True)
            ]  # fmt: skip
            pairs_of[person_id].update((int(f[7]), f[2]) for f in fields if f[2])
        pairs: list[tuple[int, str]] = []
        for read in reads:
            found = not_at_a_slot(read.book, _summaries(groups[read.person_id]), planned=planned[read.person_id])
            if found:
                stray[read.person_id] = found
                pairs += sorted({(read.person_id, start) for starts in found.values() for start in starts})
        for at in range(0, len(pairs), 400):
            part = pairs[at : at + 400]
            at_sql = _at_query(vendor, rules, bool(suspects), len(part) if vendor == "sqlite" else 1)
            values = [[p for p, _ in part], [s if vendor == "sqlite" else datetime.fromisoformat(s).replace(tzinfo=UTC) for _, s in part]]
            cursor.execute(at_sql, [*_table(vendor, values), *listed])
            for row in cursor.fetchall():
                if row[4] in stray[row[0]].get(row[2], ()):  # (another service's visit at that start stays summarised)
                    moved[row[0]].append(row)
    out = {}
    minimum = rules.minimum_visit_minutes * 60
    least = rules.minimum_visit_minutes
    for person_id, rows in moved.items():  # simple visits out of the summary: their key, seconds and whether under the minimum
        summary = groups[person_id]
        for row in rows:
            group = summary[row[2]]
            key = f"{row[4]}/{row[5]}"
            if key in group[0]:
                group[0].remove(key)
            else:
                group[1].remove(next(code for code in group[1] if code.split(";", 1)[0] == key))
            group[2] -= row[10]
            group[4] -= row[10] < minimum and row[5] >= least
        more, kept = _rows_to_visits([row[1:10] for row in rows], by_id[person_id].person_ref)
        visits[person_id] += more
        pairs_of[person_id].update((r[8], r[2]) for r in kept if r[2])
    for person_id, summary in groups.items():
        out[person_id] = _Visits(_summaries(summary), visits[person_id], pairs_of[person_id], reported[person_id])
    return out


def _sqlite_summaries(cursor, reads: Sequence[VisitRead], rules: MonitoringRules, suspects: frozenset[str], listed: list, to_db) -> list[tuple]:
    """SQLite: the rows PostgreSQL's :func:`_chunk_query` gives, asked person by person (:func:`_person_queries`). Joined to a
    VALUES table of the chunk's people, SQLite sorts every visit of the chunk for the GROUP BY, and that
    costs more than the query's own work (measured on the benchmark's council: 1.7 ms a package that
    way, 1.24 this way)."""
    whole, by_service = _person_queries(rules, bool(suspects))
    rows = []
    for r in reads:
        params = [*listed * 4, to_db(r.continuity[0]), to_db(r.continuity[1]), r.person_id, to_db(r.first), to_db(r.before)]
        cursor.execute(whole, params)
        person_id, service, *summary, last = cursor.fetchone()
        if service is None:
            continue  # no visits
        if service == last:
            rows.append((person_id, service, *summary))
        else:
            cursor.execute(by_service, params)
            rows += cursor.fetchall()
    return rows


def _summaries(groups: Mapping[str, list]) -> list[SimpleVisits]:
    return [SimpleVisits(service, full, odd, seconds, carers, under) for service, (full, odd, seconds, carers, under) in groups.items()]


# -- one package -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Txn:
    ref: str
    date: date
    amount: Decimal
    counterparty: str
    description: str
    account_ref: str


def suspects_for(preferred: str | None, carers: Mapping[str, set[str]]) -> frozenset[str]:
    """Carer refs with any recorded gender (at any of the council's providers) other than ``preferred``.

    A superset of the carers ``delivery.classify`` could count as a preference breach, so their
    visits are judged one by one; empty when the person states no preference.
    """
    wanted = preferred.strip().lower() if preferred and preferred.strip() else None
    if wanted is None:
        return frozenset()
    return frozenset(ref for ref, genders in carers.items() if any(g.strip() and g.strip().lower() != wanted for g in genders))


def _read_of(package: _Package, as_of: date, carers: _Carers) -> VisitRead:
    """What to read of a package's visits to judge it as at the end of ``as_of``."""
    plan, rules = package.plan, package.rules
    budget = plan.budget
    now = end_of_day(min(as_of, budget.end_date))
    book = slot_book(list(package.plans), budget.start_date, min(as_of, budget.end_date))
    first = end_of_day(budget.start_date - timedelta(days=1)) - timedelta(minutes=rules.match_window_minutes)
    continuity = (now.astimezone(UTC) - timedelta(weeks=4), now.astimezone(UTC))  # status.carers_seen's window
    suspects = suspects_for(plan.person.preferences.carer_gender, carers.genders)
    return VisitRead(package.person_id, package.person_ref, first, now, rules, book, suspects, continuity)


def _judge_one(package: _Package, as_of: date, read: VisitRead, visits: _Visits, *, review: ReviewState, spend_policy: SpendPolicy,
               carers: _Carers, transactions: Sequence[_Txn], refunds: list[tuple[date, Decimal]], raised: frozenset[str]) -> PackageResult:  # fmt: skip
    plan, rules = package.plan, package.rules
    budget = plan.budget
    upto = min(as_of, budget.end_date)
    plans = list(package.plans)
    preferred = plan.person.preferences.carer_gender
    genders = carers.of(visits.pairs) if preferred else {}  # genders only matter against a preference
    # (read_many has moved every simple visit not alone at a slot to the full rows: placed)
    figures = tally(book=read.book, simple=visits.simple, visits=visits.rest, plans=plans, now=read.before, rules=rules,
                    carer_genders=genders, preferred_gender=preferred, placed=True, reported=visits.reported)  # fmt: skip
    txns = sorted((t for t in transactions if budget.start_date <= t.date <= upto), key=lambda t: (t.date, t.ref))
    judged = _services.judge(
        person_ref=package.person_ref, as_of=as_of, plan=plan, plans=plans, rules=rules, thresholds=package.thresholds,
        spend_policy=spend_policy, reconciliation=figures, recent_carers=figures.recent_carers, priced=figures.priced,
        transactions=txns, refunds=refunds, review=review, raised=raised,
    )  # fmt: skip
    return PackageResult(
        package.person_id, package.person_ref, as_of, plan, package.version, package.plans, rules, judged.status, figures,
        judged.affordability, judged.alerts, tuple((t.ref, t.date, t.amount, t.account_ref) for t in txns),
    )  # fmt: skip


# -- many packages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Carers:
    genders: dict[str, set[str]]  # every gender recorded for a ref, at any of the council's providers
    by_pair: dict[tuple[int, str], str]  # (provider id, ref) -> gender

    def of(self, pairs: Collection[tuple[int, str]]) -> dict[str, str]:
        """``services._carer_genders(pairs)`` from what is loaded: by ref, in (provider, ref) order."""
        found = {}
        for pair in sorted(pairs):
            gender = self.by_pair.get(pair)
            if gender is not None:
                found[pair[1]] = gender
        return found


def _council_carers(council_id: int) -> _Carers:
    genders: dict[str, set[str]] = defaultdict(set)
    by_pair = {}
    for provider_id, ref, gender in Carer.objects.filter(council_id=council_id).values_list("provider_id", "ref", "gender"):
        by_pair[(provider_id, ref)] = gender
        if gender:
            genders[ref].add(gender)
    return _Carers(genders, by_pair)


def _refunds(person_ids: Collection[int]) -> dict[tuple[int, int], list[tuple[date, Decimal]]]:
    from careledger.domain.ledger import EntryKind
    from careledger.ledger.models import LedgerEntry

    found: dict[tuple[int, int], list] = defaultdict(list)
    ids = sorted(set(person_ids))
    # By the (kind, person) index, for people of the council already (filtering by council as well would
    # have SQLite read the council's every entry through its own index).
    for at in range(0, len(ids), 500):
        rows = LedgerEntry.objects.filter(kind=EntryKind.REFUND.value, person_id__in=ids[at : at + 500])
        for person_id, budget_id, day, amount in rows.values_list("person_id", "budget_id", "day", "amount"):
            found[(person_id, budget_id)].append((day, amount))
    return found


def _transactions(person_ids: Collection[int]) -> dict[int, list[_Txn]]:
    found: dict[int, list[_Txn]] = defaultdict(list)
    if not person_ids:
        return found
    ids = sorted(set(person_ids))  # the council's people already: by the (person, date) index
    for at in range(0, len(ids), 500):
        rows = Transaction.objects.filter(person_id__in=ids[at : at + 500]).values_list(
            "person_id", "ref", "date", "amount", "counterparty", "description", "account__ref"
        )
        for person_id, *values in rows:
            found[person_id].append(_Txn(*values))
    return found


def statuses(*, council, people: Mapping[int, str], as_of: date, leave_out_raised: bool = False) -> tuple[dict[int, PackageResult], dict[str, str]]:
    """Every package's status as at the end of ``as_of`` (London) for ``people`` (person id -> ref) of
    ``council``, exactly as ``package_view`` gives it; and why some could not be judged (no plan in
    force, budget not started), by ref. With ``leave_out_raised``, the weekly visit alerts already
    raised are left out of each result's alerts (the recompute stores only new ones)."""
    failed: dict[str, str] = {}
    results: dict[int, PackageResult] = {}
    for part in statuses_by_chunk(council=council, people=people, as_of=as_of, leave_out_raised=leave_out_raised, failed=failed):
        results.update(part)
    return results, failed


def statuses_by_chunk(*, council, people: Mapping[int, str], as_of: date, failed: dict[str, str], leave_out_raised: bool = False) -> Iterator[dict[int, PackageResult]]:
    """:func:`statuses`, a chunk of packages at a time (``CHUNK * 2`` of them), as they are judged; why
    some could not be judged is put in ``failed``. A caller that keeps only a little of each result
    (the recompute's :func:`compute`) holds one chunk's visits and lines at a time, not the council's."""
    packages, why = _packages(council.pk, people, as_of)
    failed.update(why)
    if not packages:
        return
    reviews = review_states(council_id=council.pk, plans={pid: p.plan for pid, p in packages.items()}, as_of=as_of)
    policy = council_spend_policy(council)
    refunds = _refunds(packages)  # (the council's own people)
    dp = [pid for pid, p in packages.items() if p.plan.budget.delivery_mechanism == DeliveryMechanism.DIRECT_PAYMENT]
    transactions = _transactions(dp)
    carers = _council_carers(council.pk)
    raised: dict[int, set[str]] = defaultdict(set)
    if leave_out_raised:
        from .models import Alert

        ids = sorted(packages)  # (by the (person, cause) index: a shard's people, not the council's every alert)
        for at in range(0, len(ids), 500):
            for person_id, cause in Alert.objects.filter(council_id=council.pk, person_id__in=ids[at : at + 500]).values_list("person_id", "cause"):
                raised[person_id].add(cause)
    ids = list(packages)
    for at in range(0, len(ids), CHUNK * 2):  # their visits read a chunk at a time, then judged one by one
        reads = {pid: _read_of(packages[pid], as_of, carers) for pid in ids[at : at + CHUNK * 2]}
        visits = read_many(list(reads.values()))
        results = {}
        for pid, read in reads.items():
            package = packages[pid]
            results[pid] = _judge_one(
                package, as_of, read, visits[pid], review=reviews[pid], spend_policy=policy, carers=carers,
                transactions=transactions.get(pid, ()), refunds=refunds.get((pid, package.version.budget_id), []),
                raised=frozenset(raised.get(pid, ())),
            )  # fmt: skip
        del reads, visits
        yield results


def status_of(*, scope, person_ref: str, as_of: date) -> PackageResult:
    """One package's status, the set-based way (a handful of queries and two over its visits)."""
    from careledger.records.errors import InvalidInput, NotFound

    person = scope.person(person_ref)
    results, failed = statuses(council=scope.council, people={person.pk: person.ref}, as_of=as_of)
    if person.pk not in results:
        why = failed.get(person.ref, f"person {person.ref!r} has no care plan in force on {as_of.isoformat()}")
        raise (InvalidInput if "before the budget starts" in why else NotFound)(why)
    return replace(results[person.pk], person=person)


def refresh(*, scope, person_ref: str, as_of: date) -> PackageResult:
    """:func:`status_of`, and then store it: its ledger in step, its new alerts raised, the status kept for the portfolio."""
    result = status_of(scope=scope, person_ref=person_ref, as_of=as_of)
    days = _ledger_days(scope.council.pk, [result], as_of)[result.person_id]
    first = result.plan.services[0] if result.plan.services else None
    outcome = Outcome(result.person_id, result.person_ref, result.version.budget_id, result.plan.budget.delivery_mechanism.value,
                      first.provider_ref if first else "", result.status, result.alerts, days, result.plans, result.rules)  # fmt: skip
    store([outcome], council_id=scope.council.pk, as_of=as_of)
    return result


# -- the recompute: compute and store in parallel --------------------------------------------------


ALL_DAYS = "all"


@dataclass(frozen=True)
class Outcome:
    """What a worker hands back for one package: its status and alerts, and what its ledger needs."""

    person_id: int
    person_ref: str
    budget_id: int
    mechanism: str
    provider_ref: str
    status: dict
    alerts: tuple[DomainAlert, ...]
    ledger_days: frozenset[date] | str | None  # None: in step; the days to sync; or ALL_DAYS
    plans: tuple[tuple[date, Plan], ...] = ()  # what the sync prices with, so that it need not read the plans again
    rules: MonitoringRules = DEFAULT_RULES


def _ledger_days(council_id: int, results: Sequence[PackageResult], as_of: date, count: bool = False) -> dict[int, frozenset[date] | str | None]:
    """Which days of each package's stored ledger differ from its figures (``ledger.services`` digests):
    by the budgets' kept digests, or (``count``) by counting their entries."""
    from careledger.ledger import services as ledger

    digests = ledger.counted_digests if count else ledger.stored_digests
    stored = digests(council_id=council_id, budget_ids=[r.version.budget_id for r in results], as_of=as_of)
    found: dict[int, frozenset[date] | str | None] = {}
    for r in results:
        if r.rules.rounding == "none" and r.rules.payment_basis != "planned":
            found[r.person_id] = ALL_DAYS  # a clocked fraction of a minute is stored to 6 places: compare entry by entry
            continue
        total, _ = ledger.wanted_digests(r.plan, as_of, priced=r.tally.priced, transactions=r.transactions, by_day=False)
        if ledger.digests_agree(stored.get(r.version.budget_id), total):
            found[r.person_id] = None
        elif r.version.budget_id not in stored:
            found[r.person_id] = ALL_DAYS  # nothing stored yet
        else:
            _, by_day = ledger.wanted_digests(r.plan, as_of, priced=r.tally.priced, transactions=r.transactions)
            found[r.person_id] = frozenset(ledger.days_out_of_step(council_id=council_id, budget_id=r.version.budget_id, as_of=as_of, wanted=by_day))
    return found


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while many packages are computed (as it was after).

    A recompute allocates millions of short-lived, acyclic objects (visits, lines, tuples) that
    reference counting frees, and keeps every package's result until the end; the collector
    still ran every 700 allocations, and its older passes walked the growing results, the slot
    caches and Django's heap. Measured on the benchmark's council in one process: 6.4-6.8 ms a
    package with the default (400 packages), 5.3 with a young threshold of 50,000 (1,000
    packages), 4.6-4.9 off; and the collector found 54 objects in cycles over all those runs.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _outcomes_by_chunk(council_id: int, people: Mapping[int, str], as_of: date, failed: dict[str, str], count_ledgers: bool = False) -> Iterator[list[Outcome]]:
    """Statuses of ``people`` and what their ledgers need, a chunk of packages at a time (reads only)."""
    from careledger.records.models import Council

    council = Council.objects.get(pk=council_id)
    # A chunk at a time: its ledgers checked, then only the outcomes kept. Holding every result to the
    # end (each package's visits and lines) grew a worker to 400 MB a thousand packages, and two workers
    # paging in fresh memory at once spent 0.9-1.2 s each in the kernel where one alone spent 0.1-0.2.
    for results in statuses_by_chunk(council=council, people=people, as_of=as_of, leave_out_raised=True, failed=failed):
        days = _ledger_days(council_id, list(results.values()), as_of, count_ledgers)
        out = []
        for pid, r in results.items():
            first = r.plan.services[0] if r.plan.services else None
            out.append(Outcome(pid, r.person_ref, r.version.budget_id, r.plan.budget.delivery_mechanism.value,
                               first.provider_ref if first else "", r.status, r.alerts, days[pid], r.plans if days[pid] else (), r.rules))  # fmt: skip
        del results  # (freed by reference counting, the collector being off: its memory is reused by the next chunk)
        yield out


def compute(council_id: int, people: Mapping[int, str], as_of: date, count_ledgers: bool = False) -> tuple[list[Outcome], dict[str, str]]:
    """Statuses of ``people`` and what their ledgers need (reads only), nothing stored."""
    failed: dict[str, str] = {}
    out: list[Outcome] = []
    with collector_paused():
        for chunk in _outcomes_by_chunk(council_id, people, as_of, failed, count_ledgers):
            out += chunk
    return out, failed


@dataclass
class Stored:
    """What :func:`compute_and_store` did: packages judged, why some could not be, and :func:`store`'s counts."""

    packages: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {"synced": 0, "appended": 0, "alerts": 0, "stored": 0})

    def add(self, other: Stored) -> None:
        self.packages += other.packages
        self.failed |= other.failed
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n


def compute_and_store(council_id: int, people: Mapping[int, str], as_of: date, count_ledgers: bool = False) -> Stored:
    """:func:`compute`, each chunk stored (:func:`store`) as soon as it is judged: what a recompute's worker runs.

    Storing in the workers, not in the parent after them all, keeps both cores busy to the end: the
    parent's store had run alone on one core (0.24 s on SQLite, 0.6-0.8 s on PostgreSQL, with the
    pickling of every status back to it). Two workers may store at once: PostgreSQL takes them side by
    side; SQLite (WAL, ``BEGIN IMMEDIATE``) makes one wait for the other's short transaction.
    """
    done = Stored()
    with collector_paused():
        for chunk in _outcomes_by_chunk(council_id, people, as_of, done.failed, count_ledgers):
            done.packages += len(chunk)
            with _store_lock or nullcontext():
                done.add(Stored(0, {}, store(chunk, council_id=council_id, as_of=as_of, chunk=max(1, len(chunk)), recount=count_ledgers)))
    return done


_store_lock = None  # SQLite: one worker stores at a time (set in each worker by _share_lock)


def _share_lock(lock) -> None:
    """A worker's initializer: SQLite has one writer at a time, and the first recompute's chunk writes
    hundreds of thousands of ledger entries (18 s on the benchmark's council), longer than the busy
    timeout another worker would wait for the write lock; so workers take turns by this lock instead."""
    global _store_lock
    _store_lock = lock


def _compute_shard(args: tuple):
    from careledger.audit.context import set_actor

    task, council_id, people, as_of, actor, count_ledgers = args
    set_actor(actor)
    try:
        return task(council_id, people, as_of, count_ledgers)
    finally:
        from django.db import connections

        connections.close_all()


def default_workers() -> int:
    import os

    return max(1, min(os.cpu_count() or 1, 8))


def _can_fork() -> bool:
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods() or connection.in_atomic_block:
        return False  # a transaction's uncommitted rows are not seen by another connection
    name = str(connection.settings_dict.get("NAME") or "")
    return not (connection.vendor == "sqlite" and (name == ":memory:" or "mode=memory" in name))


def compute_all(council_id: int, people: Mapping[int, str], as_of: date, workers: int | None = None, count_ledgers: bool = False) -> tuple[list[Outcome], dict[str, str]]:
    """:func:`compute` for many people, split over ``workers`` processes (forked; in this one when
    there is one, inside a transaction, or on an in-memory database)."""
    outcomes: list[Outcome] = []
    failed: dict[str, str] = {}
    for found, why in _over_workers(compute, council_id, people, as_of, workers, count_ledgers):
        outcomes += found
        failed |= why
    return outcomes, failed


def recompute_all(council_id: int, people: Mapping[int, str], as_of: date, workers: int | None = None, count_ledgers: bool = False) -> Stored:
    """:func:`compute_and_store` for many people, split over ``workers`` processes as :func:`compute_all` is."""
    done = Stored()
    for part in _over_workers(compute_and_store, council_id, people, as_of, workers, count_ledgers):
        done.add(part)
    return done


def _over_workers(task, council_id: int, people: Mapping[int, str], as_of: date, workers: int | None, count_ledgers: bool) -> Iterator:
    """``task``'s answer for each shard of ``people`` (:func:`shards_of`), over ``workers`` forked processes."""
    from careledger.audit.context import current_actor

    workers = default_workers() if workers is None else max(1, workers)
    ids = sorted(people)
    if workers == 1 or len(ids) < workers or not _can_fork():
        yield task(council_id, people, as_of, count_ledgers)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from django.db import connections

    shards = [{pid: people[pid] for pid in shard} for shard in shards_of(ids, workers)]
    connections.close_all()  # each process opens its own
    context = multiprocessing.get_context("fork")
    lock = context.Lock() if connection.vendor == "sqlite" else None
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_share_lock, initargs=(lock,)) as pool:
        yield from pool.map(_compute_shard, [(task, council_id, shard, as_of, current_actor(), count_ledgers) for shard in shards])


SHARD_AT_LEAST = 100  # people: below that, a shard's fixed reads (carers, reviews, plans) weigh more than the balance gained
GUIDED = 2  # each shard takes 1 / (GUIDED x workers) of the people not yet dealt


def shards_of(ids: Sequence[int], workers: int) -> list[list[int]]:
    """``ids`` dealt into shards for ``workers`` processes, handed out as each process finishes one.

    Packages differ in cost and a process may be slowed by another program, so equal parts leave
    a core idle at the end. With enough people (``(workers + 1) x`` :data:`SHARD_AT_LEAST`),
    shards are guided: each takes ``1 / (GUIDED x workers)`` of the people left, none under
    ``SHARD_AT_LEAST`` but the last (up to one per process, at least half that). The big ones go
    first and the small ones fill the gaps. Measured on the benchmark's council with 2 processes,
    8 equal strided shards left one process idle for 0.6 s of 4.5 s: each stride held packages of
    one provider's quality, and a shard cost 0.77-1.25 s. With fewer people, equal parts, one per process.
    """
    if not ids:
        return []
    n = len(ids)
    if workers < 2 or n < (workers + 1) * SHARD_AT_LEAST:
        count = max(1, min(n, workers))
        return [list(ids[k::count]) for k in range(count)]
    shards, at = [], 0
    while at < n:
        size = max(SHARD_AT_LEAST, -(-(n - at) // (GUIDED * workers)))
        if n - at - size < SHARD_AT_LEAST:  # the end: what is left in up to ``workers`` parts, none of a few people
            rest = ids[at:]
            count = max(1, min(workers, len(rest) // max(1, SHARD_AT_LEAST // 2)))
            return shards + [list(rest[k * len(rest) // count : (k + 1) * len(rest) // count]) for k in range(count)]
        shards.append(list(ids[at : at + size]))
        at += size
    return shards


def _update_statuses(rows: list) -> None:
    """UPDATE each stored status in place, one statement run for every row (``bulk_update``'s CASE per
    column and row is slow at thousands of rows); values through each field's own adapter."""
    from .models import PackageStatus

    if not rows:
        return
    fields = [f for f in PackageStatus._meta.concrete_fields if not f.primary_key and f.name != "person"]
    quote = connection.ops.quote_name
    table = quote(PackageStatus._meta.db_table)
    values = [[f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] + [row.id] for row in rows]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement for the chunk, its rows as arrays (one per column): 250 statements, even
            # pipelined, took 0.3 ms a row on the server.
            columns = [*fields, PackageStatus._meta.pk]
            names = [f"c{i}" for i in range(len(columns))]
            arrays = ", ".join(f"CAST(%s AS {f.db_type(connection)}[])" for f in columns)
            sets = ", ".join(f"{quote(f.column)} = u.{name}" for f, name in zip(fields, names[:-1], strict=True))  # (the last is the id)
            sql = f"UPDATE {table} AS t SET {sets} FROM unnest({arrays}) AS u({', '.join(names)}) WHERE t.{quote('id')} = u.{names[-1]}"
            cursor.execute(sql, [list(column) for column in zip(*values, strict=True)])
        else:
            sql = f"UPDATE {table} SET {', '.join(f'{quote(f.column)} = %s' for f in fields)} WHERE {quote('id')} = %s"
            cursor.executemany(sql, values)


def store(outcomes: Sequence[Outcome], *, council_id: int, as_of: date, chunk: int = 250, recount: bool = False) -> dict[str, int]:
    """Bring the ledgers in step, raise new alerts and store the statuses, a chunk of packages per transaction.

    ``recount``: after a sync, set the budget's kept digest from its entries (when the days to
    sync were found by counting them, the kept digest may be the one out of step).
    """
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    from careledger.audit import trail
    from careledger.audit.receivers import model_label
    from careledger.ledger.services import Package, ledger_sync, recount_digest
    from careledger.records.models import Budget

    from .models import Alert, PackageStatus

    counts = {"synced": 0, "appended": 0, "alerts": 0, "stored": 0}
    order = PackageStatus.RAG_ORDER
    for at in range(0, len(outcomes), chunk):
        part = sorted(outcomes[at : at + chunk], key=lambda o: o.person_id)
        ids = [o.person_id for o in part]
        with transaction.atomic():
            people = {p.pk: p for p in Person.objects.filter(pk__in=ids)}
            for o in part:
                if o.ledger_days is not None:
                    package = None
                    if o.plans:  # the plans the status was judged with (as package_at would find them)
                        plan = [p for start, p in sorted(o.plans, key=lambda pair: pair[0]) if start <= as_of][-1]
                        package = Package(people[o.person_id], None, Budget(pk=o.budget_id), list(o.plans), plan, o.rules)
                    result = ledger_sync(people[o.person_id], as_of, days=None if o.ledger_days == ALL_DAYS else o.ledger_days, package=package)
                    counts["synced"] += 1
                    counts["appended"] += result.appended
                    if recount or not result.appended:  # (no entry needed: it was the kept digest that was out of step)
                        recount_digest(council_id=council_id, budget_id=o.budget_id)
            # Which of them are raised already (of the few dozen each person has, only those with these causes)
            causes = sorted({a.cause for o in part for a in o.alerts})
            known = set(Alert.objects.filter(person_id__in=ids, cause__in=causes).values_list("person_id", "cause")) if causes else set()
            new = [
                Alert(council_id=council_id, person_id=o.person_id, code=a.code, severity=a.severity, cause=a.cause, message=a.message,
                      evidence=list(a.evidence), as_of=as_of)  # fmt: skip
                for o in part for a in o.alerts if (o.person_id, a.cause) not in known
            ]
            if new:
                try:
                    with transaction.atomic():
                        made = Alert.objects.bulk_create(new)
                except IntegrityError:  # raised meanwhile by another process: once is enough, one at a time
                    made = []  # (each save below writes its own audit entry, through the signals)
                    for alert in new:
                        try:
                            with transaction.atomic():
                                alert.save()
                        except IntegrityError:
                            continue
                if made and any(m.pk is None for m in made):  # a database that returns no ids from a bulk insert
                    ids_by = dict(((p, c), i) for i, p, c in Alert.objects.filter(person_id__in=ids).values_list("id", "person_id", "cause"))
                    for m in made:
                        m.pk = m.id = ids_by[(m.person_id, m.cause)]
                if made:
                    label = model_label(Alert)
                    trail.record_many([{"action": "create", "model": label, "object_id": m.pk, "council_id": council_id,
                                        "after": trail.snapshot(m)} for m in made])  # fmt: skip
                counts["alerts"] += len(new)
            open_alerts = dict(
                Alert.objects.filter(person_id__in=ids).exclude(status=Alert.Status.RESOLVED).values_list("person_id")
                .annotate(n=models.Count("id")).values_list("person_id", "n")
            )  # fmt: skip
            existing = dict(PackageStatus.objects.filter(person_id__in=ids).values_list("person_id", "id"))
            now = timezone.now()
            rows = []
            for o in part:
                s = o.status
                rags = (s["followed"]["rag"], s["affordable"]["rag"], s["working"]["rag"])
                rows.append(PackageStatus(
                    id=existing.get(o.person_id), person_id=o.person_id, council_id=council_id, as_of=as_of, computed_at=now,
                    mechanism=o.mechanism, provider_ref=o.provider_ref, followed=rags[0], affordable=rags[1], working=rags[2],
                    worst=min(order[r] for r in rags), reds=sum(1 for r in rags if r == "red"),
                    budget=Decimal(s["affordable"]["budget"]), spent=Decimal(s["affordable"]["spent"]),
                    forecast_variance=Decimal(s["affordable"]["forecast_variance"]), open_alerts=open_alerts.get(o.person_id, 0), status=s,
                ))  # fmt: skip
            _update_statuses([r for r in rows if r.id is not None])
            PackageStatus.objects.bulk_create([r for r in rows if r.id is None], batch_size=500)
            counts["stored"] += len(rows)
    return counts
