"""An import killed with SIGKILL mid-file, then run again, ends exactly where a clean run does.

Runs the real command line in a child process against a database of its own (a
SQLite file, or a fresh PostgreSQL database when DATABASE_URL is PostgreSQL),
kills it once some chunks have committed and before the last, runs it again, and
compares every visit, revision and running figure with a clean import of the same
file into another database.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import MARY_FILE

pytestmark = pytest.mark.slow

ROWS = 40_000
CHUNK = 1_000
PEOPLE = ("MARY-86", "ANN-1", "JOE-2")
BIN = Path(sys.executable).parent / "careledger"


def _visits_file(path: Path) -> None:
    with path.open("w") as out:
        out.write("visit_ref,person_ref,provider_ref,service_ref,carer_ref,planned_start,planned_minutes,actual_start,actual_end,status\n")
        for i in range(ROWS):
            day, hour = 1 + i % 28, 7 + i % 12
            person = PEOPLE[i % 3]
            if i % 997 == 5:
                out.write(f"K{i},{person},ACME-CARE,homecare,C1,2026-05-{day:02d} 25:00,30,,,missed\n")  # a bad hour: rejected
            elif i % 5 == 0:
                out.write(f"K{i},{person},ACME-CARE,homecare,C{i % 40},2026-05-{day:02d} {hour:02d}:00,30,,,missed\n")
            else:
                out.write(f"K{i},{person},ACME-CARE,homecare,C{i % 40},2026-05-{day:02d} {hour:02d}:00,30,2026-05-{day:02d} {hour:02d}:03,2026-05-{day:02d} {hour:02d}:31,completed\n")


class Database:
    """A database of its own for a child process: a SQLite file, or a new PostgreSQL database."""

    def __init__(self, tmp: Path, name: str) -> None:
        base = os.environ.get("DATABASE_URL", "")
        self.pg = base.startswith(("postgres://", "postgresql://"))
        if self.pg:
            import psycopg

            self.name = f"careledger_kill_{name}_{uuid.uuid4().hex[:8]}"
            self.admin = base
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = base.rsplit("/", 1)[0] + "/" + self.name
        else:
            self.path = tmp / f"{name}.sqlite3"
            self.url = f"sqlite:///{self.path}"
        self.env = {**os.environ, "DATABASE_URL": self.url, "CARELEDGER_DATA_DIR": str(tmp / name), "CARELEDGER_SECRET_KEY": "kill-test-" + "x" * 40}

    def query(self, sql: str) -> list[tuple]:
        if self.pg:
            import psycopg

            with psycopg.connect(self.url) as conn:
                return [tuple(map(str, row)) for row in conn.execute(sql).fetchall()]
        with sqlite3.connect(self.path, timeout=30) as conn:
            return [tuple(map(str, row)) for row in conn.execute(sql).fetchall()]

    def drop(self) -> None:
        if self.pg:
            import psycopg

            with psycopg.connect(self.admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([str(BIN), *args], env=self.env, capture_output=True, text=True, timeout=300)
        if check:
            assert done.returncode == 0, done.stderr
        return done

    def set_up(self, tmp: Path) -> None:
        import json

        self.cli("migrate")
        self.cli("council", "add", "NOR", "Northshire")
        self.cli("provider", "add", "ACME-CARE", "Acme Care")
        for ref in PEOPLE:
            data = json.loads(MARY_FILE.read_text())
            data["person"]["ref"] = ref
            plan = tmp / f"{ref}.json"
            plan.write_text(json.dumps(data))
            self.cli("plan", "import", str(plan))

    def state(self) -> dict[str, list[tuple]]:
        return {
            "visits": self.query(
                "SELECT v.ref, p.ref, v.status, v.planned_start, v.actual_seconds, v.content_hash, v.version "
                "FROM ingest_visit v JOIN records_person p ON p.id = v.person_id ORDER BY v.ref"
            ),
            "revisions": self.query("SELECT COUNT(*) FROM ingest_visitrevision"),
            "figures": self.query(
                "SELECT p.ref, f.visits, f.completed, f.missed, f.delivered_seconds, f.amendments "
                "FROM ingest_deliveryfigures f JOIN records_person p ON p.id = f.person_id ORDER BY p.ref"
            ),
        }


@pytest.fixture
def databases(tmp_path):
    made = []

    def make(name: str) -> Database:
        db = Database(tmp_path, name)
        made.append(db)
        db.set_up(tmp_path)
        return db

    yield make
    for db in made:
        db.drop()


def test_killed_import_rerun_equals_a_clean_run(tmp_path, databases):
    visits = tmp_path / "visits.csv"
    _visits_file(visits)
    command = [str(BIN), "import", "visits", str(visits), "--chunk-rows", str(CHUNK)]

    clean = databases("clean")
    done = clean.cli(*command[1:], check=False)
    assert done.returncode == 1  # some rows are rejected on purpose
    expected = clean.state()
    bad_rows = len(range(5, ROWS, 997))
    assert len(expected["visits"]) == ROWS - bad_rows

    killed = databases("killed")
    child = subprocess.Popen(command, env=killed.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    written = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        written = int(killed.query("SELECT COUNT(*) FROM ingest_visit")[0][0])
        if written >= 3 * CHUNK:
            break
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    at_kill = int(killed.query("SELECT COUNT(*) FROM ingest_visit")[0][0])
    assert 0 < at_kill < len(expected["visits"]), f"the kill did not land mid-file ({at_kill} rows written)"
    partial = killed.state()
    # Whole chunks only, and the running figures agree with the rows that are there.
    completed = sum(1 for v in partial["visits"] if v[2] == "completed")
    assert sum(int(f[2]) for f in partial["figures"]) == completed
    assert sum(int(f[1]) for f in partial["figures"]) == at_kill

    rerun = killed.cli(*command[1:], check=False)
    assert rerun.returncode == 1, rerun.stderr
    assert killed.state() == expected
    runs = killed.query("SELECT status, duplicates FROM ingest_importrun ORDER BY id")
    assert runs[0][0] == "running" and runs[1] == ("applied", str(at_kill))
    # The killed run's heartbeat moved with its committed chunks (ImportRun.state shows it interrupted once it is stale)
    began, beat = (datetime.fromisoformat(t) for t in killed.query("SELECT started_at, heartbeat_at FROM ingest_importrun ORDER BY id")[0])
    assert beat > began
