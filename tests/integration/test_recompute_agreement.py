"""Two paths that agree: the running figures and stored statuses kept up item by item, and a full recompute.

The incremental path is what a live council sees: visits, carers and transactions pushed in
batches (``push_items``), each batch updating the people's running figures in its own
transaction, and statuses refreshed as they are read. The full recompute (``careledger
recompute``) rebuilds the figures from the rows and every status from the plan and rows. On a
generated council of 1,000 packages both must give the same figures and statuses, exactly; and
the same items pushed in any order and any batches (duplicates and amendments included, the
final content the same) must end in the same figures and statuses.

Also: the DuckDB reference of ``benchmarks/recompute.py`` computes the same followed and
affordable figures as careledger on a small council, so the benchmark compares like with like.
"""

from __future__ import annotations

import importlib.util
import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careledger.domain.costing import scheduled_visits
from careledger.formats.plan_file import parse_plan
from careledger.ingest import services as ingest
from careledger.ingest.models import DeliveryFigures
from careledger.monitoring import services as monitoring
from careledger.monitoring.models import PackageStatus
from careledger.records import services
from careledger.records.scoping import Scope

pytestmark = pytest.mark.django_db(transaction=False)

ROOT = Path(__file__).resolve().parents[2]
START, END = date(2026, 4, 6), date(2026, 5, 3)  # four-week budgets keep 1,000 packages quick
AS_OF = date(2026, 4, 19)
PROVIDERS = ("ACME-CARE", "BETA-CARE")
CARERS = [(f"C{k}", PROVIDERS[k % 2], "male" if k % 5 == 0 else "female") for k in range(40)]


def plan_for(i: int) -> dict:
    plan = json.loads((ROOT / "examples" / "mary.json").read_text())
    ref = f"P{i:04d}"
    plan["person"]["ref"] = ref
    plan["budget"].update(start_date=START.isoformat(), end_date=END.isoformat(), annual_amount=f"{320 + (i % 9) * 15}.00")
    plan["services"][0]["provider"] = PROVIDERS[i % 2]
    plan["services"][0]["rates"] = {"standard": f"{12 + (i % 5) * 0.75:.2f}", "weekend": "15.00", "bank_holiday": "25.00"}
    if i % 10 == 3:
        plan["budget"].update(delivery_mechanism="direct_payment", account_ref=f"DP-{ref}")
    return plan


SLOTS = [s for s in scheduled_visits(parse_plan(json.dumps(plan_for(0)))) if s.local_date <= AS_OF + timedelta(days=1)]


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def visit_items(i: int, rnd: random.Random) -> list[dict]:
    """One person's visits: most on time, some late, short, missed (reported or not), cancelled, unplanned."""
    plan = plan_for(i)
    ref, provider = plan["person"]["ref"], plan["services"][0]["provider"]
    good = i % 3 == 0  # a third of the packages are delivered as planned, by carers of the gender asked for
    team = [c for c, p, g in CARERS if p == provider and (g == "female" or not good)]
    out = []
    for slot in SLOTS:
        wall = slot.start.replace(tzinfo=None)
        item = {"visit_ref": f"{ref}-{wall:%m%d%H%M}", "person_ref": ref, "provider_ref": provider, "service_ref": "homecare",
                "carer_ref": rnd.choice(team[:4]), "planned_start": _clock(wall), "planned_minutes": slot.minutes}  # fmt: skip
        roll = 0.5 if good else rnd.random()
        if roll < 0.03:
            continue  # never reported
        if roll < 0.07:
            out.append(item | {"status": rnd.choice(["missed", "cancelled_by_provider", "cancelled_by_person"])})
            continue
        begin = wall + timedelta(minutes=0 if good else rnd.choice([0, 0, 0, 5, 40]) if roll < 0.9 else 50)
        took = slot.minutes if good or rnd.random() < 0.8 else max(1, int(slot.minutes * rnd.choice([0.5, 0.9, 1.2])))
        status = "in_progress" if wall.date() > AS_OF else "completed"
        out.append(item | {"actual_start": _clock(begin), "actual_end": _clock(begin + timedelta(minutes=took)), "status": status})
        if rnd.random() < 0.01:
            extra = wall + timedelta(hours=3)
            out.append(item | {"visit_ref": item["visit_ref"] + "X", "planned_start": _clock(extra), "actual_start": _clock(extra),
                               "actual_end": _clock(extra + timedelta(minutes=30)), "status": "completed"})  # fmt: skip
    return out


def transaction_items(i: int) -> list[dict]:
    if i % 10 != 3:
        return []
    account = f"DP-P{i:04d}"
    return [
        {"txn_ref": f"{account}-in", "account_ref": account, "date": "2026-04-06", "amount": "400.00", "counterparty": "Northshire Council"},
        {"txn_ref": f"{account}-1", "account_ref": account, "date": "2026-04-10", "amount": "-96.25", "counterparty": "Jo Bloggs", "description": "PA wages"},
        {"txn_ref": f"{account}-2", "account_ref": account, "date": "2026-04-17", "amount": "-101.75", "counterparty": "Jo Bloggs", "description": "PA wages"},
        {"txn_ref": f"{account}-3", "account_ref": account, "date": "2026-04-18", "amount": "-20.00", "counterparty": "Bet365", "description": "bet"},
    ]


def amended(item: dict) -> dict:
    """An earlier, different version of an item (sent first, replaced by the item itself)."""
    if "txn_ref" in item:
        return item | {"amount": "-1.00" if item["amount"].startswith("-") else "1.00"}
    return item | {"status": "missed", "actual_start": None, "actual_end": None} if item["status"] == "completed" else item | {"planned_minutes": 5}


def build(system, people: int) -> list[str]:
    for ref in PROVIDERS:
        services.provider_create(scope=system, ref=ref, name=ref.title())
    for i in range(people):
        services.plan_import(scope=system, raw=plan_for(i), source="test", effective_from=START)
    ingest.push_items(scope=system, kind="carers", items=[{"carer_ref": c, "provider_ref": p, "gender": g} for c, p, g in CARERS])
    return [f"P{i:04d}" for i in range(people)]


STATUS_FIELDS = ("as_of", "mechanism", "provider_ref", "followed", "affordable", "working", "worst", "reds", "budget", "spent", "forecast_variance", "status")


def stored_statuses(council) -> dict[str, dict]:
    """Every stored status but its open alerts (alerts are raised once per cause, whenever first seen)."""
    return {row.pop("person__ref"): row for row in PackageStatus.objects.filter(council=council).values("person__ref", *STATUS_FIELDS)}


def push_in_batches(system, kind: str, items: list[dict], cuts: list[int]) -> None:
    edges = [0, *sorted(set(cuts)), len(items)]
    for first, last in zip(edges, edges[1:], strict=False):
        if last > first:
            result = ingest.push_items(scope=system, kind=kind, items=items[first:last])
            assert result.counts["rejected"] == 0, [i.errors for i in result.items if i.outcome == "rejected"][:3]


@pytest.mark.slow
def test_a_council_of_1000_packages_pushed_item_by_item_agrees_with_a_full_recompute(council, system):
    refs = build(system, 1000)
    rnd = random.Random(11)
    visits = [item for i in range(len(refs)) for item in visit_items(i, rnd)]
    txns = [item for i in range(len(refs)) for item in transaction_items(i)]
    # Amendments and duplicates: an earlier version of some items first, and some items twice.
    early = [amended(item) for item in rnd.sample(visits, 400)]
    again = rnd.sample(visits, 300)
    stream = early + visits + again
    assert len(stream) > 25_000
    for start in range(0, len(stream), 1000):
        batch = stream[start : start + 1000]
        ingest.push_items(scope=system, kind="visits", items=batch)
        for ref in sorted({item["person_ref"] for item in batch})[:5]:  # a few statuses read as the data arrives
            monitoring.status_refresh(scope=system, person_ref=ref, as_of=AS_OF)
    push_in_batches(system, "transactions", [amended(t) for t in txns[::4]] + txns, [len(txns) // 2])
    # Every status as read after the last push (what the API answers), and the running totals.
    incremental = {ref: monitoring.package_view(scope=system, person_ref=ref, as_of=AS_OF).status for ref in refs}
    running = ingest.stored_figures(council_id=council.pk)
    assert len(running) == 1000
    assert sum(f["amendments"] for f in running.values()) == 400 + len(txns[::4])
    assert {s["followed"]["rag"] for s in incremental.values()} == {"red", "amber", "green"}  # a council with all kinds in it
    assert {s["affordable"]["rag"] for s in incremental.values()} >= {"amber", "green"}

    ingest.recompute_figures(council_id=council.pk)
    result = monitoring.recompute_statuses(scope=system, as_of=AS_OF)
    assert (result.packages, result.failed) == (1000, {})
    assert ingest.stored_figures(council_id=council.pk) == running
    recomputed = stored_statuses(council)
    differ = [ref for ref in refs if recomputed[ref]["status"] != incremental[ref]]
    assert not differ, (differ[:3], [(recomputed[r]["status"], incremental[r]) for r in differ[:1]])
    for ref, row in recomputed.items():  # the stored columns the portfolio sorts by say what the status says
        status = row["status"]
        assert (row["followed"], row["affordable"], row["working"]) == tuple(status[q]["rag"] for q in ("followed", "affordable", "working"))
        assert (f"{row['budget']:.2f}", f"{row['spent']:.2f}", f"{row['forecast_variance']:.2f}") == tuple(
            status["affordable"][k] for k in ("budget", "spent", "forecast_variance")
        ), ref


# -- any order, any batches ---------------------------------------------------------------------

SMALL = 4  # P0003 is a direct payment


@pytest.fixture
def small(council, system):
    refs = build(system, SMALL)
    rnd = random.Random(5)
    visits = [item for i in range(SMALL) for item in visit_items(i, rnd)][::3]  # a third of two weeks: quick
    txns = transaction_items(3)
    return refs, visits, txns


def _outcome(council, system, refs):
    figures = ingest.stored_figures(council_id=council.pk)
    assert figures == ingest.computed_figures(council_id=council.pk)  # the running totals equal the rows
    for values in figures.values():
        values.pop("amendments")  # how many versions were replaced depends on the order; the rest must not
    statuses = {ref: monitoring.package_view(scope=system, person_ref=ref, as_of=AS_OF).status for ref in refs}
    return figures, statuses


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_the_same_items_in_any_order_and_batches_end_in_the_same_figures_and_status(small, council, system, data):
    refs, visits, txns = small
    items = [("visits", v) for v in visits] + [("transactions", t) for t in txns]
    with transaction.atomic():
        for kind, group in (("visits", visits), ("transactions", txns)):
            ingest.push_items(scope=system, kind=kind, items=group)
        expected = _outcome(council, system, refs)
        transaction.set_rollback(True)

    # Any order; some items sent twice; some first sent in an earlier version (their final content is the same).
    order = data.draw(st.permutations(range(len(items))))
    twice = data.draw(st.lists(st.sampled_from(range(len(items))), max_size=10))
    earlier = data.draw(st.lists(st.sampled_from(range(len(items))), max_size=10, unique=True))
    sequence = [(index, "final") for index in [*order, *twice]] + [(index, "earlier") for index in earlier]
    sequence = data.draw(st.permutations(sequence))
    # The last time an item is sent it carries its final content.
    last_position = {index: position for position, (index, _) in enumerate(sequence)}
    sends = {"visits": [], "transactions": []}
    for position, (index, version) in enumerate(sequence):
        kind, item = items[index]
        final = last_position[index] == position
        sends[kind].append(item if final or version == "final" else amended(item))
    with transaction.atomic():
        for kind in ("visits", "transactions"):
            group = sends[kind]
            cuts = data.draw(st.lists(st.integers(0, len(group)), max_size=4), label=f"{kind} batch cuts")
            push_in_batches(system, kind, group, cuts)
        assert DeliveryFigures.objects.filter(council=council).exists()
        assert _outcome(council, system, refs) == expected
        transaction.set_rollback(True)


# -- the DuckDB reference computes the same figures ---------------------------------------------


def _benchmark():
    spec = importlib.util.spec_from_file_location("bench_recompute", ROOT / "benchmarks" / "recompute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # ten weeks of visits for 20 packages, recomputed and exported: about 10 s
def test_the_duckdb_reference_gives_careledgers_figures_package_by_package(council, system, tmp_path):
    bench = _benchmark()
    as_of = date(2026, 6, 14)  # ten weeks of the benchmark's year, and a bank holiday (25 May) in them
    plans, visits = bench.generate(20, upto=as_of)
    bench.load(system, plans, visits, progress=lambda _: None)
    result = monitoring.recompute_statuses(scope=system, as_of=as_of)
    assert result.packages == 20
    bench.export(council, tmp_path)
    reference = bench.duckdb_figures(bench.duckdb_connect(tmp_path), as_of=as_of)
    ours = bench.careledger_figures(council)
    assert len(ours) == 20
    assert reference == ours
    totals = {k: sum(f[k] for f in ours.values()) for k in ("missed", "late", "short", "unplanned")}
    assert all(totals.values()), totals  # the data has every kind of visit the figures count
    # The same query on SQLite itself, and on PostgreSQL when that is the database under test (benchmarks/same_query.py)
    _, _, rows = bench.same_query.sqlite_reference(tmp_path, as_of, repeat=1)
    assert bench.figures_from_rows(rows, as_of) == ours
    if connection.vendor == "postgresql":
        base = connection.settings_dict
        login = base["USER"] + (f":{base['PASSWORD']}" if base.get("PASSWORD") else "")
        url = f"postgres://{login}@{base['HOST'] or '127.0.0.1'}:{base['PORT'] or 5432}/{base['NAME']}_reference"  # (made and dropped)
        _, _, rows = bench.same_query.postgres_reference(tmp_path, url, as_of, bench.REFERENCE_SQL, repeat=1)
        assert bench.figures_from_rows(rows, as_of) == ours
