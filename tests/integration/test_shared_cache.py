"""CARELEDGER_CACHE_URL: processes that share a cache see each other's entries.

The signed-push replay check (``access.signing.verify``) remembers each signature with
``cache.add``: a second process must refuse what the first accepted. Each test starts two
real ``careledger`` processes in turn with the same settings and asks each to add the same
key: the first may, the second may not. Redis is the machine's own (127.0.0.1:6379; CI has
it, so there a missing Redis fails rather than skips); "database" is a table in a SQLite file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent / "careledger"
ADD = "from django.core.cache import cache; print(cache.add({key!r}, 1, timeout=60))"


def _careledger(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=120)


def _env(tmp_path: Path, cache_url: str) -> dict:
    return {**os.environ, "CARELEDGER_CACHE_URL": cache_url, "DATABASE_URL": f"sqlite:///{tmp_path / 'cache.sqlite3'}",
            "CARELEDGER_DATA_DIR": str(tmp_path / "data"), "CARELEDGER_SECRET_KEY": "cache-test-" + "x" * 40}  # fmt: skip


def _two_processes_add(env: dict) -> list[str]:
    key = f"careledger:signature:test:{uuid.uuid4().hex}"
    found = []
    for _ in range(2):
        done = _careledger(env, "manage", "shell", "-c", ADD.format(key=key))
        assert done.returncode == 0, done.stderr
        found.append(done.stdout.strip().splitlines()[-1])
    return found


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.slow
def test_two_processes_share_a_redis_cache(tmp_path):
    if not _redis_up():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("no Redis on 127.0.0.1:6379 in CI: the shared cache test must run there", pytrace=False)
        pytest.skip("no Redis on 127.0.0.1:6379 (CI runs this test)")
    assert _two_processes_add(_env(tmp_path, "redis://127.0.0.1:6379/15")) == ["True", "False"]


@pytest.mark.slow
def test_two_processes_share_a_database_cache_made_by_migrate(tmp_path):
    env = _env(tmp_path, "database")
    migrated = _careledger(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert _two_processes_add(env) == ["True", "False"]


def test_without_a_shared_cache_each_process_has_its_own(tmp_path):
    """What the setting is for: the default cache lives in one process only."""
    assert _two_processes_add(_env(tmp_path, "")) == ["True", "True"]


def test_an_unknown_cache_url_is_refused_plainly(tmp_path):
    done = _careledger(_env(tmp_path, "memcached://127.0.0.1:11211"), "manage", "check")
    assert done.returncode != 0
    assert "CARELEDGER_CACHE_URL must be redis://..., rediss://..., unix://... or 'database', not 'memcached'" in done.stderr
