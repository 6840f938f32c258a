"""The `careledger` command line, run as a real process against a throwaway SQLite database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MARY_FILE

CLI = [sys.executable, "-m", "careledger.cli"]


@pytest.fixture
def run(tmp_path: Path):
    env = {**os.environ, "CARELEDGER_DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)  # a throwaway SQLite file, whatever the suite runs on

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    return run


def test_plan_cost_json_for_mary_needs_no_database(run, tmp_path):
    result = run("plan", "cost", str(MARY_FILE), "--json")
    assert json.loads(result.stdout) == {
        "weekly_hours": "6.75", "weekly_cost": "84.38", "annual_cost_52_weeks": "4387.50",
        "period_cost": "4387.50", "budget": "4387.50", "headroom": "0.00", "fits_budget": True,
        "visits_in_period": 728, "visits_by_rate": {"standard": 728, "weekend": 0, "bank_holiday": 0},
    }
    assert not (tmp_path / "data" / "careledger.sqlite3").exists()


def test_plan_cost_lists_every_problem_and_exits_1(run, tmp_path, mary_data):
    mary_data["services"][0]["visits"][0]["days"] = ["MO", "XX"]
    mary_data["services"][0]["visits"][1]["minutes"] = -30
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(mary_data))
    result = run("plan", "cost", str(bad), ok=False)
    assert result.returncode == 1
    assert "$.services[0].visits[0].days[1]: unknown weekday \"XX\"" in result.stderr
    assert "$.services[0].visits[1].minutes" in result.stderr
    assert "2 problem(s)" in result.stderr


def test_the_whole_journey(run, tmp_path):
    assert "not set up" in run("council", "add", "NOR", "Northshire", ok=False).stderr
    run("migrate")
    run("council", "add", "NOR", "Northshire")
    refused = run("plan", "import", str(MARY_FILE), ok=False)
    assert refused.returncode == 1 and "not registered with council NOR" in refused.stderr
    run("provider", "add", "ACME-CARE", "Acme Care Ltd")
    assert "imported as version 1" in run("plan", "import", str(MARY_FILE)).stdout
    assert "unchanged" in run("plan", "import", str(MARY_FILE)).stdout
    exported = json.loads(run("plan", "export", "MARY-86").stdout)
    assert exported["budget"]["annual_amount"] == "4387.50"
    run("council", "add", "SOU", "Southshire")
    assert "more than one council" in run("plan", "export", "MARY-86", ok=False).stderr
    assert run("plan", "export", "MARY-86", "--council", "SOU", ok=False).returncode == 1
    out = tmp_path / "mary-out.json"
    run("plan", "export", "MARY-86", "--council", "NOR", "-o", str(out))
    assert json.loads(out.read_text()) == exported


@pytest.mark.parametrize(
    "command",
    [[], ["plan"], ["plan", "cost"], ["plan", "import"], ["plan", "export"], ["council", "add"], ["provider", "add"], ["demo"], ["serve"], ["migrate"]],
)
def test_every_command_has_help(run, command):
    result = run(*command, "--help")
    assert "Usage:" in result.stdout


@pytest.mark.slow  # a real recompute over two forked processes on a SQLite file (about 15 s)
def test_recompute_over_two_processes_stores_what_one_process_computes(run, tmp_path):
    import importlib.util
    import sqlite3
    from datetime import date

    spec = importlib.util.spec_from_file_location("bench_recompute", Path(__file__).resolve().parents[2] / "benchmarks" / "recompute.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    plans, visits = bench.generate(12, upto=date(2026, 6, 14))
    run("migrate")
    run("council", "add", "NOR", "Northshire")
    for ref in bench.PROVIDERS:
        run("provider", "add", ref, ref.title())
    for plan in plans:
        path = tmp_path / f"{plan['person']['ref']}.json"
        path.write_text(json.dumps(plan))
        run("plan", "import", str(path), "--effective-from", "2026-04-06")
    (tmp_path / "visits.csv").write_bytes(visits)
    run("import", "visits", str(tmp_path / "visits.csv"))

    first = run("recompute", "--as-of", "2026-06-14", "--workers", "2").stdout
    assert "12 packages" in first and "12 ledgers brought in step" in first
    database = sqlite3.connect(tmp_path / "data" / "careledger.sqlite3")
    forked = dict(database.execute("SELECT person_id, status FROM monitoring_packagestatus").fetchall())
    alerts = database.execute("SELECT count(*) FROM monitoring_alert").fetchone()[0]
    assert len(forked) == 12 and alerts > 0
    again = run("recompute", "--as-of", "2026-06-14", "--workers", "1").stdout
    assert "0 new alerts; 0 ledgers brought in step (0 entries appended)" in again
    assert dict(database.execute("SELECT person_id, status FROM monitoring_packagestatus").fetchall()) == forked
    assert run("ledger", "check").stdout.strip() == "every budget's ledger digest agrees with its entries"
