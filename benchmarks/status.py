"""Benchmark: one package's status, and the recompute of every package's status, at council size.

    .venv/bin/python benchmarks/status.py                      # 200 packages, a year of visits each, SQLite
    .venv/bin/python benchmarks/status.py --people 2000        # a council-year: about 1.5 million visits
    .venv/bin/python benchmarks/status.py --database-url postgres://postgres@127.0.0.1:5432/bench

Each person gets Mary's plan (14 visits a week) and a year of visits with a few
missed, late and short ones, imported through the real import path. Then it times
``package_view`` for 20 packages (the status of one package) and
``recompute_statuses`` for all of them (the full recompute), and prints both.
A PostgreSQL URL must name a database that may be emptied (it is migrated and filled).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="careledger-status-bench-")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("CARELEDGER_DATA_DIR", tmp)
    os.environ.setdefault("CARELEDGER_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careledger.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from careledger.domain.costing import scheduled_visits
    from careledger.formats.plan_file import parse_plan
    from careledger.ingest.services import import_file
    from careledger.monitoring.services import package_view, recompute_statuses
    from careledger.records import services
    from careledger.records.scoping import Scope

    if args.database_url:  # a scratch database, emptied first
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # the append-only tables refuse TRUNCATE otherwise (ledger/migrations/0005_no_truncate.py)
                cursor.execute("SET careledger.allow_truncate = 'on'")
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", interactive=False, verbosity=0)
    council = services.council_create(code="NOR", name="Benchmark")
    scope = Scope.system(council)
    services.provider_create(scope=scope, ref="ACME-CARE", name="Acme")
    mary = json.loads((ROOT / "examples" / "mary.json").read_text())
    rnd = random.Random(3)
    began = time.perf_counter()
    lines = ["visit_ref,person_ref,provider_ref,service_ref,carer_ref,planned_start,planned_minutes,actual_start,actual_end,status\n"]
    slots = list(scheduled_visits(parse_plan(json.dumps(mary))))
    for i in range(args.people):
        ref = f"P{i:05d}"
        mary["person"]["ref"] = ref
        services.plan_import(scope=scope, raw=json.dumps(mary), source=ref)
        for slot in slots:
            roll = rnd.random()
            start = slot.start
            if roll < 0.02:
                lines.append(f"{ref}-{start:%Y%m%d%H%M},{ref},ACME-CARE,homecare,C1,{start.isoformat()},{slot.minutes},,,missed\n")
                continue
            late = timedelta(minutes=45 if roll < 0.05 else 0)
            lasted = timedelta(minutes=slot.minutes * (0.7 if roll > 0.97 else 1))
            begin = start + late
            lines.append(
                f"{ref}-{start:%Y%m%d%H%M},{ref},ACME-CARE,homecare,C{i % 7},{start.isoformat()},{slot.minutes},{begin.isoformat()},{(begin + lasted).isoformat()},completed\n"
            )
    data = "".join(lines).encode()
    print(f"set up {args.people:,} packages with {len(lines) - 1:,} visits of data in {time.perf_counter() - began:.1f} s ({os.environ['DATABASE_URL'].split(':')[0]})")
    began = time.perf_counter()
    run = import_file(scope=scope, kind="visits", stream=io.BytesIO(data), source="year.csv").run
    took = time.perf_counter() - began
    print(f"imported {run.added:,} visits in {took:.1f} s = {run.added / took:,.0f} visits/s")
    as_of = date(2027, 3, 31)
    samples = []
    for i in rnd.sample(range(args.people), min(20, args.people)):
        began = time.perf_counter()
        package_view(scope=scope, person_ref=f"P{i:05d}", as_of=as_of)
        samples.append(time.perf_counter() - began)
    print(f"one package's status: median {statistics.median(samples) * 1000:.0f} ms, worst {max(samples) * 1000:.0f} ms (target 50 ms)")
    began = time.perf_counter()
    result = recompute_statuses(scope=scope, as_of=as_of)
    took = time.perf_counter() - began
    print(f"full recompute of {result.packages:,} package statuses: {took:.1f} s ({took / max(result.packages, 1) * 1000:.0f} ms each)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
