"""The set-based recompute (``monitoring.batch``) against the database, on SQLite and PostgreSQL.

* its SQL says of every stored visit what ``tally.simple_parts`` says (simple or not; what it pays;
  under the minimum), for every payment rule, on visits chosen to sit on each boundary;
* its statuses and alerts equal ``package_view``'s (every visit judged one by one) for each rule;
* a second recompute finds every ledger in step by its digests and appends nothing; an amended
  visit is found by its day and synced on that day alone, leaving the ledger as a full sync would;
* computed over two processes, it gives what one process gives.
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from careledger.domain.costing import scheduled_visits
from careledger.domain.delivery import DeliveredVisit
from careledger.domain.rules import DEFAULT_RULES, MonitoringRules
from careledger.domain.status import end_of_day
from careledger.domain.tally import Reported, simple_parts
from careledger.formats.plan_file import parse_plan
from careledger.ingest.models import Visit
from careledger.ingest.services import push_items
from careledger.ledger.models import LedgerEntry
from careledger.ledger.services import ledger_sync
from careledger.monitoring import batch
from careledger.monitoring.services import package_view, recompute_statuses
from careledger.records.models import Contract

START, AS_OF = date(2026, 10, 12), date(2026, 11, 8)  # four weeks across the clocks going back (25 October)
CARERS = {"C-ANN": "female", "C-BOB": "male", "C-SAM": "female", "C-KIM": "unknown", "C-NEW": None}  # C-NEW: no carer record
RULES = {
    "default": {},
    "actual, up to 15": {"payment_basis": "actual", "rounding": "up", "rounding_step_minutes": 15},
    "planned": {"payment_basis": "planned"},
    "tolerance 0, down to 10, late after 15": {"payment_tolerance_minutes": 0, "rounding": "down", "rounding_step_minutes": 10, "late_after_minutes": 15},
    "clocked to the second": {"payment_basis": "actual", "rounding": "none"},
}


def plan(ref: str, preferred: str | None) -> dict:
    from tests.conftest import MARY_FILE

    data = json.loads(MARY_FILE.read_text())
    data["person"].update(ref=ref)
    data["person"]["preferences"]["carer_gender"] = preferred
    data["budget"].update(start_date=START.isoformat(), end_date=(START + timedelta(days=363)).isoformat())
    data["services"][0]["rates"] = {"standard": "12.50", "weekend": "14.75", "bank_holiday": "25.00"}
    return data


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def visits_for(ref: str, seed: int) -> list[dict]:
    """Every slot to as_of with a fate chosen to sit on or near a boundary of the rules."""
    rnd = random.Random(seed)
    slots = [s for s in scheduled_visits(parse_plan(json.dumps(plan(ref, None)))) if s.local_date <= AS_OF]
    out = []
    for n, slot in enumerate(slots):
        fate = rnd.choice(["ok", "ok", "ok", "late30", "late31", "short80", "short79", "tolerance", "little", "little", "little", "seconds", "micro", "missed",
                           "cancelled_by_person", "in_progress", "moved", "twice", "unreported"])  # fmt: skip
        if fate == "unreported":
            continue
        start, minutes = slot.start, slot.minutes
        item = {"visit_ref": f"{ref}-{n}", "person_ref": ref, "provider_ref": "ACME-CARE", "service_ref": slot.service_ref,
                "carer_ref": rnd.choice(sorted(CARERS)), "planned_start": start.isoformat(), "planned_minutes": minutes, "status": "completed"}  # fmt: skip
        begin, lasted = start + timedelta(minutes=rnd.randint(-3, 8)), timedelta(minutes=minutes + rnd.randint(0, 5))
        lasted = {
            "short80": timedelta(seconds=minutes * 48), "short79": timedelta(seconds=minutes * 48 - 1), "tolerance": timedelta(minutes=minutes - 5),
            "little": timedelta(minutes=minutes - 7, seconds=30), "seconds": lasted + timedelta(seconds=rnd.randint(1, 59)),
        }.get(fate, lasted)  # fmt: skip
        begin = {"late30": start + timedelta(minutes=30), "late31": start + timedelta(minutes=30, seconds=1)}.get(fate, begin)
        if fate == "micro":
            begin += timedelta(microseconds=250_000)
        if fate == "moved":
            item["planned_start"] = (start + timedelta(minutes=rnd.choice([-50, 20, 95]))).isoformat()
            begin = datetime.fromisoformat(item["planned_start"])
        if fate in ("missed", "cancelled_by_person"):
            out.append(item | {"status": fate})
            continue
        status = "in_progress" if fate == "in_progress" else "completed"
        out.append(item | {"actual_start": _iso(begin), "actual_end": _iso(begin + lasted) if status == "completed" else None, "status": status})
        if fate == "twice":
            out.append(out[-1] | {"visit_ref": f"{ref}-{n}-B", "carer_ref": "C-BOB"})
    extra = datetime.combine(START + timedelta(days=3), datetime.min.time(), tzinfo=UTC) + timedelta(hours=15)
    out.append({"visit_ref": f"{ref}-X", "person_ref": ref, "provider_ref": "ACME-CARE", "service_ref": "homecare", "carer_ref": "C-ANN",
                "planned_start": extra.isoformat(), "planned_minutes": 30, "actual_start": extra.isoformat(),
                "actual_end": (extra + timedelta(minutes=30)).isoformat(), "status": "completed"})  # fmt: skip
    if seed == 2:  # visits of a service the plan does not have: one at a slot's start, one on time at its own
        for n, at in enumerate((slots[0].start, extra + timedelta(hours=2))):
            out.append({"visit_ref": f"{ref}-L{n}", "person_ref": ref, "provider_ref": "ACME-CARE", "service_ref": "laundry", "carer_ref": "C-ANN",
                        "planned_start": at.isoformat(), "planned_minutes": 30, "actual_start": at.isoformat(),
                        "actual_end": (at + timedelta(minutes=30)).isoformat(), "status": "completed"})  # fmt: skip
    return out


@pytest.fixture
def council_of_three(system, acme):
    from careledger.records import services as records

    people = {"ANY-1": None, "WOMEN-2": "female", "MEN-3": "male"}
    for seed, (ref, preferred) in enumerate(people.items()):
        records.plan_import(scope=system, raw=json.dumps(plan(ref, preferred)))
    carers = [{"carer_ref": ref, "provider_ref": "ACME-CARE", "gender": g} for ref, g in CARERS.items() if g]
    assert push_items(scope=system, kind="carers", items=carers).counts["rejected"] == 0
    for seed, ref in enumerate(people):
        result = push_items(scope=system, kind="visits", items=visits_for(ref, seed))
        assert result.counts["rejected"] == 0, [i.errors for i in result.items if i.outcome == "rejected"][:3]
    return system


def _rules(name: str) -> MonitoringRules:
    Contract.objects.update(**RULES[name])
    return MonitoringRules(**RULES[name])


@pytest.mark.parametrize("name", list(RULES))
def test_the_database_sorts_visits_as_simple_parts_does(council_of_three, name):
    rules = _rules(name)
    scope = council_of_three
    results, failed = batch.statuses(council=scope.council, people=dict(scope.people().values_list("id", "ref")), as_of=AS_OF)
    assert failed == {} and len(results) == 3
    kinds = set()
    for person in scope.people():
        preferred = results[person.pk].plan.person.preferences.carer_gender
        suspects = batch.suspects_for(preferred, {ref: {g} for ref, g in CARERS.items() if g})
        first = end_of_day(START - timedelta(days=1)) - timedelta(minutes=rules.match_window_minutes)
        book = batch.slot_book(results[person.pk].plans, START, AS_OF)
        now = end_of_day(AS_OF)
        got = batch.read_visits(person.pk, person.ref, first, now, rules, book, suspects, (now - timedelta(weeks=4), now))
        rest = {v.visit_ref for v in got.rest} | {r.ref for r in got.reported}
        summarised = sum(len(g.full) + len(g.odd) for g in got.simple)
        stored = [DeliveredVisit(v.ref, person.ref, v.service_ref, v.carer_ref or None, v.planned_start, v.planned_minutes, v.actual_start, v.actual_end, v.status)
                  for v in Visit.objects.filter(person=person)]  # fmt: skip
        assert summarised + len(got.rest) + len(got.reported) == len(stored)
        # Each visit sent as Reported carries the numbers Reported.of finds in the stored visit, and makes that visit.
        by_ref = {v.visit_ref: v for v in stored}
        numbers = lambda r: (r.service_ref, r.ref, r.carer_ref, r.planned_start, r.planned_minutes, r.status, r.offset, r.seconds)  # noqa: E731
        for r in got.reported:
            assert numbers(r) == numbers(Reported.of(by_ref[r.ref])) and r.visit() == by_ref[r.ref]
            kinds.add("whole seconds" if r.offset is not None else "not completed" if r.status != "completed" else "clock with fractions or missing")
        codes = sorted(c for g in got.simple for c in g.odd)
        expected_odd, expected_under = [], 0
        for visit in stored:
            parts = simple_parts(visit, rules, suspects)
            if parts is None:
                assert visit.visit_ref in rest, visit
                kinds.add("rest")
                continue
            if visit.visit_ref in rest:
                kinds.add("simple, read in full")  # not alone at a slot (moved, twice, the extra visit)
                continue
            paid, under = parts
            key = f"{visit.planned_start.astimezone(UTC):%Y-%m-%d %H:%M:%S}/{visit.planned_minutes}"
            expected_under += under
            if paid != visit.planned_minutes:
                expected_odd.append(f"{key};{paid}")
                kinds.add("odd")
            else:
                kinds.add("full")
        assert codes == sorted(expected_odd)
        assert sum(g.under for g in got.simple) == expected_under
    assert kinds >= {"rest", "simple, read in full", "full", "whole seconds", "not completed"} | ({"odd"} if name == "default" else set())  # every kind the query sorts into


@pytest.mark.parametrize("name", list(RULES))
@pytest.mark.parametrize("as_of", [START, date(2026, 10, 25), AS_OF])
def test_batch_statuses_and_alerts_equal_the_one_by_one_path(council_of_three, name, as_of):
    _rules(name)
    scope = council_of_three
    results, _ = batch.statuses(council=scope.council, people=dict(scope.people().values_list("id", "ref")), as_of=as_of)
    for person in scope.people():
        view = package_view(scope=scope, person_ref=person.ref, as_of=as_of)
        assert results[person.pk].status == view.status
        assert results[person.pk].alerts == view.alerts
        assert results[person.pk].tally.counts == view.reconciliation.counts


def test_a_second_recompute_appends_nothing_and_an_amended_visit_is_synced_on_its_day(council_of_three):
    scope = council_of_three
    first = recompute_statuses(scope=scope, as_of=AS_OF)
    assert first.packages == 3 and first.counts["synced"] == 3 and first.counts["appended"] > 100
    entries = LedgerEntry.objects.count()
    again = recompute_statuses(scope=scope, as_of=AS_OF)
    assert (again.counts["synced"], again.counts["appended"], again.counts["alerts"]) == (0, 0, 0)
    assert LedgerEntry.objects.count() == entries

    # One completed visit becomes 20 minutes shorter: its day differs, and only that day is synced.
    visit = Visit.objects.filter(person__ref="ANY-1", status="completed", planned_minutes=60, actual_end__isnull=False).order_by("planned_start")[3]
    item = {"visit_ref": visit.ref, "person_ref": "ANY-1", "provider_ref": "ACME-CARE", "service_ref": visit.service_ref, "carer_ref": visit.carer_ref,
            "planned_start": visit.planned_start.isoformat(), "planned_minutes": 60, "actual_start": visit.actual_start.isoformat(),
            "actual_end": (visit.actual_end - timedelta(minutes=20)).isoformat(), "status": "completed"}  # fmt: skip
    assert push_items(scope=scope, kind="visits", items=[item]).counts["amended"] == 1
    outcomes, _ = batch.compute_all(scope.council.pk, dict(scope.people().values_list("id", "ref")), AS_OF, workers=1)
    days = {o.person_ref: o.ledger_days for o in outcomes}
    assert days == {"ANY-1": frozenset({visit.planned_start.astimezone(batch._services.LONDON).date()}), "WOMEN-2": None, "MEN-3": None}
    third = recompute_statuses(scope=scope, as_of=AS_OF)
    assert (third.counts["synced"], third.counts["appended"]) == (1, 2)  # the visit's entry reversed, and its new one
    assert ledger_sync(scope.person("ANY-1"), AS_OF).appended == 0  # a full comparison finds nothing more to do
    from careledger.ledger.services import digests_check

    assert digests_check(council_id=scope.council.pk) == []  # every kept digest is what its entries count
    view = package_view(scope=scope, person_ref="ANY-1", as_of=AS_OF)
    from careledger.ledger.selectors import balance

    assert f"{balance(scope.person('ANY-1'), 'budget', AS_OF):.2f}" == f"{view.affordability.budget - view.affordability.spent:.2f}"


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the SQLite test database is in memory, which another process cannot read (tests/integration/test_cli.py runs "
    "`careledger recompute --workers 2` on a SQLite file instead)",
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("shard_at_least", [batch.SHARD_AT_LEAST, 1], ids=["a shard per process", "more shards than processes"])
def test_two_processes_give_what_one_gives(council_of_three, monkeypatch, shard_at_least):
    """Over forked workers (outside a transaction, so that they see the rows), in two shards or in one per person."""
    scope = council_of_three
    people = dict(scope.people().values_list("id", "ref"))
    assert batch._can_fork()
    monkeypatch.setattr(batch, "SHARD_AT_LEAST", shard_at_least)
    one, _ = batch.compute_all(scope.council.pk, people, AS_OF, workers=1)
    assert len(batch.shards_of(sorted(people), 2)) == (3 if shard_at_least == 1 else 2)
    two, _ = batch.compute_all(scope.council.pk, people, AS_OF, workers=2)
    assert sorted(two, key=lambda o: o.person_id) == sorted(one, key=lambda o: o.person_id)


def test_shards_deal_every_person_once_big_ones_first_when_there_are_enough():
    ids = list(range(1, 2001))
    for workers in (2, 3, 4, 8):
        shards = batch.shards_of(ids, workers)
        assert sum(shards, []) == ids  # every person once, in order
        assert len(shards) > workers
        sizes = [len(s) for s in shards]
        assert sizes[0] >= sizes[1] >= sizes[2] and min(sizes[:-workers]) >= batch.SHARD_AT_LEAST  # big ones first
        assert min(sizes) >= batch.SHARD_AT_LEAST // 2  # (the last ones share what is left)
    assert [len(s) for s in batch.shards_of(ids, 2)] == [500, 375, 282, 211, 158, 119, 100, 100, 77, 78]
    assert [len(s) for s in batch.shards_of(list(range(250)), 2)] == [125, 125]  # too few people for more shards than processes
    assert [len(s) for s in batch.shards_of(list(range(400)), 2)] == [100, 100, 100, 50, 50]  # (none under SHARD_AT_LEAST but the last)
    assert batch.shards_of(ids, 1) == [ids]
    assert batch.shards_of([7], 4) == [[7]] and batch.shards_of([], 2) == []


def test_the_collector_is_paused_while_computing_and_as_it_was_after():
    import gc

    assert gc.isenabled()
    with batch.collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError), batch.collector_paused():
        1 / 0  # noqa: B018 - an error inside still turns it back on
    assert gc.isenabled()
    gc.disable()
    try:
        with batch.collector_paused():
            pass
        assert not gc.isenabled()  # (off before: off after)
    finally:
        gc.enable()


def test_an_entry_written_around_the_sync_is_found_reversed_and_the_digest_recounted(council_of_three):
    from django.db import connection

    from careledger.ledger.services import digests_check

    scope = council_of_three
    recompute_statuses(scope=scope, as_of=AS_OF)
    entry = LedgerEntry.objects.filter(person__ref="MEN-3", kind="visit").order_by("day").first()
    with connection.cursor() as cursor:  # what the sync never wrote: a visit nobody made, straight into the table
        cursor.execute(
            "INSERT INTO ledger_ledgerentry (council_id, person_id, budget_id, account, kind, day, amount, rate_minutes, source_ref, memo, posted_at, actor) "
            "SELECT council_id, person_id, budget_id, account, kind, day, amount, rate_minutes, 'visit:NOBODY', memo, posted_at, 'sql' FROM ledger_ledgerentry WHERE id = %s",
            [entry.pk],
        )
    assert digests_check(council_id=scope.council.pk) == [entry.budget_id]
    assert recompute_statuses(scope=scope, as_of=AS_OF).counts["synced"] == 0  # the kept digest does not know of it
    again = recompute_statuses(scope=scope, as_of=AS_OF, count_ledgers=True)
    assert (again.counts["synced"], again.counts["appended"]) == (1, 1)  # counted, found and reversed, on its day
    assert LedgerEntry.objects.filter(source_ref="visit:NOBODY").count() == 2
    assert digests_check(council_id=scope.council.pk) == []
    assert recompute_statuses(scope=scope, as_of=AS_OF).counts["synced"] == 0


def test_visits_stored_without_their_offset_are_judged_one_by_one_to_the_same_figures(council_of_three):
    """A visit the import left without ``start_offset_seconds`` (times not whole seconds, or rows written
    around the import) is never simple: it comes as a row, and the figures do not change."""
    scope = council_of_three
    people = dict(scope.people().values_list("id", "ref"))
    before, _ = batch.statuses(council=scope.council, people=people, as_of=AS_OF)
    Visit.objects.update(start_offset_seconds=None)
    after, _ = batch.statuses(council=scope.council, people=people, as_of=AS_OF)
    for pid, result in after.items():
        assert result.status == before[pid].status and result.alerts == before[pid].alerts
        assert sum(len(g.full) + len(g.odd) for g in batch.read_visits(
            pid, people[pid], end_of_day(START - timedelta(days=2)), end_of_day(AS_OF), DEFAULT_RULES,
            batch.slot_book(result.plans, START, AS_OF), frozenset(), (end_of_day(AS_OF) - timedelta(weeks=4), end_of_day(AS_OF))).simple) == 0
