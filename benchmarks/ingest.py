"""Benchmark: visits a second into SQLite and PostgreSQL from a file, and items a second through the push API.

    .venv/bin/python benchmarks/ingest.py                    # 500,000 visits for 2,000 people
    .venv/bin/python benchmarks/ingest.py --rows 2000000     # a council-year
    .venv/bin/python benchmarks/ingest.py --only sqlite

Generates a council-sized visits file (2,000 people of one council, visits
spread over a year, one row in ten missed), then for each database, in a child
process of its own with a fresh database: creates the council, providers and
people, and times ``import_file`` on the file (parse, check, stage, classify,
write, figures: everything but the set-up). Then it serves that database with
``careledger serve`` and times pushing visits through ``POST /councils/NOR/visits``
in batches of 500 over HTTP with a write token. PostgreSQL is used when
``--postgres`` (default: postgres://postgres@127.0.0.1:5432/postgres) is
reachable; each run makes and drops a database of its own there.

Prints the machine (cores, CPU) and one line per measurement.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROVIDERS = [f"PROV-{i:02d}" for i in range(10)]
HEADER = "visit_ref,person_ref,provider_ref,service_ref,carer_ref,planned_start,planned_minutes,actual_start,actual_end,status\n"


def person_ref(i: int) -> str:
    return f"P{i:05d}"


def generate(path: Path, rows: int, people: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    start = date(2026, 4, 6)
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for i in range(rows):
            p = i % people
            day = start + timedelta(days=(i // people) % 364)
            hour = 7 + (i // (people * 364)) % 14
            minute = (0, 15, 30, 45)[rnd.randrange(4)]
            planned = f"{day.isoformat()} {hour:02d}:{minute:02d}"
            if rnd.random() < 0.1:
                out.write(f"V{i},{person_ref(p)},{PROVIDERS[p % 10]},homecare,,{planned},30,,,missed\n")
            else:
                late = rnd.randrange(0, 40)
                length = rnd.randrange(20, 35)
                h2, m2 = divmod(hour * 60 + minute + late, 60)
                h3, m3 = divmod(hour * 60 + minute + late + length, 60)
                out.write(f"V{i},{person_ref(p)},{PROVIDERS[p % 10]},homecare,C{p % 97},{planned},30,{day.isoformat()} {h2:02d}:{m2:02d},{day.isoformat()} {h3:02d}:{m3:02d},completed\n")


# -- the child process: one database -----------------------------------------------------------


def worker(args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("CARELEDGER_LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careledger.config.settings")
    django.setup()
    from careledger.ingest.services import import_file
    from careledger.records.models import Council, Person, Provider
    from careledger.records.scoping import Scope
    from careledger.records.services import council_create, provider_create

    call_command("migrate", interactive=False, verbosity=0)
    council = council_create(code="NOR", name="Benchmark Council")
    system = Scope.system(council)
    for ref in PROVIDERS:
        provider_create(scope=system, ref=ref, name=ref)
    Person.objects.bulk_create(
        [Person(council=council, ref=person_ref(i), given_name="Test", family_name=f"Person {i}") for i in range(args.people)], batch_size=1000
    )
    assert Provider.objects.count() == len(PROVIDERS) and Council.objects.count() == 1
    with open(args.file, "rb") as stream:
        began = time.perf_counter()
        summary = import_file(scope=system, kind="visits", stream=stream, source=Path(args.file).name)
        elapsed = time.perf_counter() - began
    run = summary.run
    result = {"rows": run.rows, "added": run.added, "rejected": run.rejected, "seconds": elapsed}
    if args.api_items:
        result["api"] = api_benchmark(args)
    print(json.dumps(result))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_benchmark(args: argparse.Namespace) -> dict:
    from careledger.access.services import token_create
    from careledger.records.models import Council
    from careledger.records.scoping import Scope

    council = Council.objects.get(code="NOR")
    secret = token_create(scope=Scope.system(council), name="benchmark", access="write").secret
    port = _free_port()
    env = {**os.environ, "CARELEDGER_API_RATE": "100000/m", "CARELEDGER_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "careledger"), "serve", "--port", str(port), "--threads", "4"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        batch = args.batch
        rnd = random.Random(7)
        sent = accepted = 0
        bodies = []
        for b in range(args.api_items // batch):
            items = []
            for j in range(batch):
                i = b * batch + j
                p = rnd.randrange(args.people)
                items.append({
                    "visit_ref": f"API{i}", "person_ref": person_ref(p), "provider_ref": PROVIDERS[p % 10], "service_ref": "homecare",
                    "carer_ref": f"C{p % 97}", "planned_start": "2027-01-05T09:00:00Z", "planned_minutes": 30,
                    "actual_start": "2027-01-05T09:04:00Z", "actual_end": "2027-01-05T09:33:00Z", "status": "completed",
                })  # fmt: skip
            bodies.append(json.dumps({"items": items}).encode())
        began = time.perf_counter()
        for body in bodies:
            conn.request("POST", "/api/v1/councils/NOR/visits", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                raise SystemExit(f"push failed: {response.status} {data[:300]!r}")
            accepted += json.loads(data)["counts"]["accepted"]
            sent += batch
        elapsed = time.perf_counter() - began
        return {"items": sent, "accepted": accepted, "batch": batch, "seconds": elapsed}
    finally:
        server.terminate()
        server.wait(timeout=10)


# -- the parent: generate, run each database, print ---------------------------------------------


def _postgres_url(base: str) -> tuple[str, str] | None:
    try:
        import psycopg

        name = f"careledger_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(base, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return base.rsplit("/", 1)[0] + "/" + name, name
    except Exception as error:  # noqa: BLE001 - PostgreSQL is optional here
        print(f"PostgreSQL not reachable at {base}: {error}", file=sys.stderr)
        return None


def _drop(base: str, name: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--api-items", type=int, default=50_000, help="Items pushed through the API (0: skip)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--postgres", default=os.environ.get("CARELEDGER_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    print(f"machine: {os.cpu_count()} cores, {_cpu()}, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="careledger-bench-") as tmp:
        file = Path(tmp) / "visits.csv"
        began = time.perf_counter()
        generate(file, args.rows, args.people)
        print(f"generated {args.rows:,} visits for {args.people:,} people ({file.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - began:.1f} s")
        targets = {"sqlite": (20_000, 2_000), "postgres": (50_000, 2_000)}
        for kind in ("sqlite", "postgres"):
            if args.only and kind != args.only:
                continue
            dropped = None
            if kind == "sqlite":
                url = f"sqlite:///{tmp}/bench.sqlite3"
            else:
                made = _postgres_url(args.postgres)
                if made is None:
                    continue
                url, dropped = made
            env = {**os.environ, "CARELEDGER_DATA_DIR": tmp, "CARELEDGER_SECRET_KEY": "benchmark-" + "x" * 40}
            command = [sys.executable, __file__, "--worker", "--database-url", url, "--file", str(file), "--people", str(args.people),
                       "--api-items", str(args.api_items), "--batch", str(args.batch)]  # fmt: skip
            try:
                done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            finally:
                if dropped:
                    _drop(args.postgres, dropped)
            if done.returncode != 0:
                print(f"{kind}: failed\n{done.stderr[-3000:]}", file=sys.stderr)
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            rate = result["rows"] / result["seconds"]
            target_file, target_api = targets[kind]
            print(f"{kind:9} file import: {result['rows']:,} visits in {result['seconds']:.2f} s = {rate:,.0f} visits/s (target {target_file:,}/s)")
            api = result.get("api")
            if api:
                api_rate = api["items"] / api["seconds"]
                print(f"{kind:9} push API:    {api['items']:,} items in batches of {api['batch']} in {api['seconds']:.2f} s = {api_rate:,.0f} items/s (target {target_api:,}/s)")


if __name__ == "__main__":
    main()
