"""Importing visits, carers and transactions: exact counts, nothing doubled, history kept."""

from __future__ import annotations

import io

import pytest

from careledger.ingest import services
from careledger.ingest.models import Carer, CarerRevision, DeliveryFigures, ImportRun, RejectedRow, Transaction, Visit, VisitRevision
from careledger.records.scoping import Scope

HEADER = "visit_ref,person_ref,provider_ref,service_ref,carer_ref,planned_start,planned_minutes,actual_start,actual_end,status\n"


def visit_line(ref: str, day: int = 6, status: str = "completed", person: str = "MARY-86", provider: str = "ACME-CARE", minutes: int = 60, end: str = "10:00") -> str:
    times = f"2026-04-{day:02d} 09:00,2026-04-{day:02d} {end}" if status == "completed" else ","
    return f"{ref},{person},{provider},homecare,C1,2026-04-{day:02d} 09:00,{minutes},{times},{status}\n"


def run_import(scope, text: str, kind: str = "visits", source: str = "visits.csv", **options):
    return services.import_file(scope=scope, kind=kind, stream=io.BytesIO(text.encode()), source=source, **options)


@pytest.fixture
def mary(system, acme, mary_data):
    from careledger.records import services as records

    mary_data["budget"]["account_ref"] = "DP-MARY"
    records.plan_import(scope=system, raw=__import__("json").dumps(mary_data), source="mary.json")
    return system.person("MARY-86")


def figures(person) -> dict:
    row = DeliveryFigures.objects.filter(person=person).values(*DeliveryFigures.FIELDS).first()
    return row or {}


def test_import_then_reimport_counts_nothing_twice(system, mary):
    text = HEADER + "".join(visit_line(f"V{i}", day=6 + i) for i in range(5))
    first = run_import(system, text).run
    assert (first.rows, first.added, first.amended, first.duplicates, first.rejected, first.status) == (5, 5, 0, 0, 0, "applied")
    assert Visit.objects.count() == 5
    assert figures(mary) == {**figures(mary), "visits": 5, "completed": 5, "delivered_seconds": 5 * 3600, "amendments": 0}
    again = run_import(system, text).run
    assert (again.rows, again.added, again.amended, again.duplicates, again.rejected) == (5, 0, 0, 5, 0)
    assert Visit.objects.count() == 5 and VisitRevision.objects.count() == 0
    assert figures(mary)["visits"] == 5 and figures(mary)["delivered_seconds"] == 5 * 3600
    assert first.file_sha256 == again.file_sha256 and len(first.file_sha256) == 64


def test_amendment_keeps_the_earlier_version_and_moves_the_figures(system, mary):
    run_import(system, HEADER + visit_line("V1") + visit_line("V2", day=7))
    amended = run_import(system, HEADER + visit_line("V1", status="missed") + visit_line("V2", day=7)).run
    assert (amended.added, amended.amended, amended.duplicates) == (0, 1, 1)
    visit = Visit.objects.get(ref="V1")
    assert (visit.status, visit.version, visit.actual_start) == ("missed", 2, None)
    (old,) = VisitRevision.objects.filter(visit=visit)
    assert (old.version, old.status, old.actual_seconds) == (1, "completed", 3600)
    f = figures(mary)
    assert (f["visits"], f["completed"], f["missed"], f["delivered_seconds"], f["amendments"]) == (2, 1, 1, 3600, 1)
    # Amending back is a second amendment, not a return to version 1.
    run_import(system, HEADER + visit_line("V1"))
    assert Visit.objects.get(ref="V1").version == 3 and VisitRevision.objects.filter(visit=visit).count() == 2
    assert figures(mary)["completed"] == 2 and figures(mary)["amendments"] == 2


def test_same_ref_twice_in_one_file_is_applied_in_order(system, mary):
    run = run_import(system, HEADER + visit_line("V1") + visit_line("V1", status="missed") + visit_line("V1", status="missed"), chunk_rows=100).run
    assert (run.rows, run.added, run.amended, run.duplicates) == (3, 1, 1, 1)
    assert Visit.objects.get(ref="V1").status == "missed"
    assert figures(mary)["visits"] == 1 and figures(mary)["missed"] == 1


def test_bad_rows_are_kept_with_reasons_and_good_rows_apply(system, mary):
    text = (
        HEADER
        + visit_line("V1")
        + visit_line("V2", person="NOBODY")
        + "V3,MARY-86,ACME-CARE,homecare,C1,2026-02-30 09:00,60,,,missed\n"
        + visit_line("V4", provider="ELSEWHERE")
        + visit_line("V5", day=8)
    )
    summary = run_import(system, text)
    run = summary.run
    assert (run.rows, run.added, run.rejected) == (5, 2, 3)
    assert not summary.ok
    kept = list(RejectedRow.objects.filter(run=run).values_list("line", "field"))
    assert kept == [(3, "person_ref"), (4, "planned_start"), (5, "provider_ref")]
    reasons = dict(RejectedRow.objects.filter(run=run).values_list("field", "reason"))
    assert "NOBODY" in reasons["person_ref"]
    assert sorted(Visit.objects.values_list("ref", flat=True)) == ["V1", "V5"]


def test_all_or_nothing_applies_nothing_when_a_row_is_bad(system, mary):
    text = HEADER + visit_line("V1") + visit_line("V2", person="NOBODY")
    run = run_import(system, text, all_or_nothing=True).run
    assert (run.status, run.rows, run.rejected, run.added) == ("refused", 2, 1, 0)
    assert Visit.objects.count() == 0 and not DeliveryFigures.objects.filter(visits__gt=0).exists()
    good = run_import(system, HEADER + visit_line("V1") + visit_line("V2", day=8), all_or_nothing=True).run
    assert (good.status, good.added) == ("applied", 2)


def test_a_provider_can_only_send_for_its_own_clients(system, mary, council):
    from careledger.records import services as records

    other = records.provider_create(scope=system, ref="OTHER-CARE", name="Other Care")
    as_other = Scope(council, "token:9", provider_ids=frozenset({other.pk}), can_write_delivery=True)
    run = run_import(as_other, HEADER + visit_line("V1") + visit_line("V2", provider="OTHER-CARE")).run
    assert run.added == 0 and run.rejected == 2
    fields = sorted(RejectedRow.objects.filter(run=run).values_list("line", "field"))
    assert fields == [(2, "person_ref"), (2, "provider_ref"), (3, "person_ref")]
    assert run.provider_id == other.pk


def test_a_reader_cannot_import(council, mary):
    from careledger.records.errors import NotFound

    reader = Scope(council, "user:1", whole_council=True)
    with pytest.raises(NotFound):
        run_import(reader, HEADER + visit_line("V1"))
    assert Visit.objects.count() == 0


def test_transactions_and_carers(system, mary):
    text = "txn_ref,account_ref,date,amount,counterparty,description\nT1,DP-MARY,2026-04-10,-120.50,Acme Care,invoice\nT2,DP-MARY,2026-04-11,400.00,Council,top up\nT3,DP-NONE,2026-04-11,1.00,,\n"
    run = run_import(system, text, kind="transactions", source="dp.csv").run
    assert (run.added, run.rejected) == (2, 1)
    assert run_import(system, text, kind="transactions", source="dp.csv").run.duplicates == 2
    f = figures(mary)
    assert (f["transactions"], f["money_in_pence"], f["money_out_pence"]) == (2, 40000, 12050)
    assert str(Transaction.objects.get(ref="T1").amount) == "-120.50"
    carers = "carer_ref,provider_ref,gender\nC1,ACME-CARE,female\nC2,ACME-CARE,male\n"
    assert run_import(system, carers, kind="carers", source="carers.csv").run.added == 2
    assert run_import(system, carers.replace("C2,ACME-CARE,male", "C2,ACME-CARE,female"), kind="carers").run.amended == 1
    assert Carer.objects.get(ref="C2").gender == "female" and CarerRevision.objects.get().gender == "male"


def test_running_figures_equal_a_recompute(system, mary):
    run_import(system, HEADER + "".join(visit_line(f"V{i}", day=6 + i % 20, status=("completed", "missed", "cancelled_by_person")[i % 3]) for i in range(30)))
    run_import(system, HEADER + "".join(visit_line(f"V{i}", day=6 + i % 20, status="completed", end="09:40") for i in range(0, 30, 4)))
    stored = services.stored_figures(council_id=mary.council_id)
    assert stored == services.computed_figures(council_id=mary.council_id)
    services.recompute_figures(council_id=mary.council_id)
    assert services.stored_figures(council_id=mary.council_id) == stored
    assert ImportRun.objects.count() == 2



def test_the_writer_thread_writes_in_order_and_hands_back_its_first_error():
    """Chunks that commit alone are written on a second thread (exercised end to end by the SIGKILL test)."""
    from careledger.ingest.services import _Writer

    written = []

    def write(job):
        if job == 2:
            raise RuntimeError("disk full")
        written.append(job)

    writer = _Writer(write)
    writer.put(0)
    writer.put(1)
    writer.put(2)
    with pytest.raises(RuntimeError, match="disk full"):
        for job in range(3, 10):
            writer.put(job)
        writer.close()
    assert written == [0, 1]


def test_the_repeated_autumn_hour_is_stored_as_two_instants(system, mary):
    """01:30 BST and 01:30 GMT on 25 October 2026 are an hour apart, however they are written."""
    text = (
        HEADER
        + "A1,MARY-86,ACME-CARE,homecare,C1,2026-10-25T01:30:00+01:00,30,,,missed\n"
        + "A2,MARY-86,ACME-CARE,homecare,C1,2026-10-25T01:30:00+00:00,30,,,missed\n"
        + "A3,MARY-86,ACME-CARE,homecare,C1,2026-10-25 01:30,30,,,missed\n"
    )
    assert run_import(system, text).run.added == 3
    starts = {v.ref: v.planned_start.isoformat() for v in Visit.objects.all()}
    assert starts == {"A1": "2026-10-25T00:30:00+00:00", "A2": "2026-10-25T01:30:00+00:00", "A3": "2026-10-25T00:30:00+00:00"}


def test_a_nul_in_free_text_is_refused_not_a_database_error(system, mary):
    text = "txn_ref,account_ref,date,amount,counterparty,description\nT1,DP-MARY,2026-04-10,-1.00,Shop\x00,x\nT2,DP-MARY,2026-04-10,-2.00,Shop,x\n"
    summary = run_import(system, text, kind="transactions", source="dp.csv")
    assert (summary.run.added, summary.run.rejected) == (1, 1)
    assert [(r.line, r.field) for r in summary.rejections] == [(2, "counterparty")]


def test_a_visit_across_the_autumn_clock_change_lasts_what_really_passed(system, mary):
    """01:30 BST to 01:15 GMT is 45 minutes, though the clock went back."""
    text = HEADER + "C1,MARY-86,ACME-CARE,homecare,C1,2026-10-25T01:30:00+01:00,45,2026-10-25T01:30:00+01:00,2026-10-25T01:15:00+00:00,completed\n"
    assert run_import(system, text).run.added == 1
    assert Visit.objects.get(ref="C1").actual_seconds == 45 * 60


def test_each_visit_keeps_its_check_in_offset_only_when_its_times_are_whole_seconds(system, mary):
    """``start_offset_seconds`` (the recompute's integer test of lateness), through the import's own path on each database."""
    lines = [
        "W1,MARY-86,ACME-CARE,homecare,C1,2026-04-06 09:00,60,2026-04-06 09:35,2026-04-06 10:30,completed\n",  # 35 minutes late
        "W2,MARY-86,ACME-CARE,homecare,C1,2026-04-07 09:00,60,2026-04-07 08:55,2026-04-07 10:00,completed\n",  # 5 minutes early
        "W3,MARY-86,ACME-CARE,homecare,C1,2026-04-08 09:00,60,2026-04-08 09:00:00.5,2026-04-08 10:00,completed\n",  # half a second
        "W4,MARY-86,ACME-CARE,homecare,C1,2026-04-09 09:00,60,2026-04-09 09:10,,in_progress\n",  # no check-out
        "W5,MARY-86,ACME-CARE,homecare,C1,2026-03-29 00:30,60,2026-03-29 02:10,2026-03-29 03:00,completed\n",  # across the clocks going forward
        "W6,MARY-86,ACME-CARE,homecare,C1,2026-04-10 09:00,60,,,missed\n",
    ]
    run = run_import(system, HEADER + "".join(lines)).run
    assert run.rejected == 0, list(RejectedRow.objects.values_list("line", "reason"))
    got = dict(Visit.objects.values_list("ref", "start_offset_seconds"))
    # 00:30 GMT to 02:10 BST is 40 minutes of real time (01:00 GMT became 02:00 BST)
    assert got == {"W1": 35 * 60, "W2": -5 * 60, "W3": None, "W4": None, "W5": 40 * 60, "W6": None}
    run_import(system, HEADER + lines[0].replace("09:35", "09:05"))  # an amendment keeps the old value in the revision
    assert Visit.objects.get(ref="W1").start_offset_seconds == 5 * 60
    assert VisitRevision.objects.get(visit__ref="W1").start_offset_seconds == 35 * 60


def test_the_migration_fills_in_the_offset_of_visits_stored_before_it(system, mary):
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    run_import(system, HEADER + "V1,MARY-86,ACME-CARE,homecare,C1,2026-04-06 09:00,60,2026-04-06 09:31,2026-04-06 10:00,completed\n")
    run_import(system, HEADER + "V2,MARY-86,ACME-CARE,homecare,C1,2026-04-07 09:00,60,2026-04-07 09:00:00.25,2026-04-07 10:00,completed\n")
    run_import(system, HEADER + "V3,MARY-86,ACME-CARE,homecare,C1,2026-04-08 09:00,60,2026-04-08 09:02,2026-04-08 10:00,completed\n")
    run_import(system, HEADER + "V3,MARY-86,ACME-CARE,homecare,C1,2026-04-08 09:00,60,2026-04-08 09:04,2026-04-08 10:00,completed\n")
    before = dict(Visit.objects.values_list("ref", "start_offset_seconds"))
    revisions = list(VisitRevision.objects.values_list("id", "start_offset_seconds"))
    assert before["V3"] == 240 and before["V2"] is None and revisions and all(r[1] == 120 for r in revisions)
    Visit.objects.update(start_offset_seconds=None)
    VisitRevision.objects.update(start_offset_seconds=None)
    fill = import_module("careledger.ingest.migrations.0002_start_offset_seconds")._fill
    fill(apps, SimpleNamespace(connection=connection))  # (all it reads of the schema editor)
    assert dict(Visit.objects.values_list("ref", "start_offset_seconds")) == before
    assert list(VisitRevision.objects.values_list("id", "start_offset_seconds")) == revisions


def test_a_big_import_leaves_postgresql_statistics_behind(system, mary, monkeypatch):
    """After an import that added ``statistics.AT_LEAST`` rows or more the visits table is analysed
    (autovacuum may be off or not yet round); SQLite is left without statistics, as its queries expect."""
    from django.db import connection

    from careledger.records import statistics

    monkeypatch.setattr(statistics, "AT_LEAST", 3)
    run_import(system, HEADER + "".join(visit_line(f"S{i}", day=6 + i) for i in range(2)))  # below: nothing
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [Visit._meta.db_table])
            assert cursor.fetchone()[0] <= 0  # never analysed (-1), or empty
    run_import(system, HEADER + "".join(visit_line(f"B{i}", day=6 + i) for i in range(4)))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [Visit._meta.db_table])
            assert cursor.fetchone()[0] == 6
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            assert cursor.fetchone()[0] == 0
    assert statistics.after_bulk_write(Visit, 2) is False
