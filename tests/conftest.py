"""Fixtures shared by the integration and end-to-end tests (the unit tests need none)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _audit_actor_restored():
    """Each test starts as the default actor ("system"), whatever an earlier test set.

    Commands run in-process (click's CliRunner) set the actor to "cli" for the rest of the thread,
    as the real command does for its process; with pytest-xdist any test may follow one.
    """
    from careledger.audit.context import DEFAULT_ACTOR, reset_actor, set_actor

    token = set_actor(DEFAULT_ACTOR)
    yield
    reset_actor(token)


def _allow_truncate(sender, connection, **kwargs):
    """Django's test flush empties every table with TRUNCATE on PostgreSQL, which the append-only tables
    refuse unless the session allows it (ledger/migrations/0005_no_truncate.py); the application never does."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET careledger.allow_truncate = 'on'")


def pytest_configure(config):
    from django.db.backends.signals import connection_created

    connection_created.connect(_allow_truncate, weak=False, dispatch_uid="careledger-tests-allow-truncate")


def pytest_collection_modifyitems(items):
    """The longest tests (marked slow) first, so that with pytest-xdist they overlap everything else."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: otherwise in file order

ROOT = Path(__file__).resolve().parent.parent
MARY_FILE = ROOT / "examples" / "mary.json"


@pytest.fixture
def mary_data() -> dict:
    return copy.deepcopy(json.loads(MARY_FILE.read_text()))


@pytest.fixture
def council(db):
    from careledger.records import services

    return services.council_create(code="NOR", name="Northshire Council")


@pytest.fixture
def other_council(db):
    from careledger.records import services

    return services.council_create(code="SOU", name="Southshire Council")


@pytest.fixture
def system(council):
    """The operator's reach over the test council (as the CLI has)."""
    from careledger.records.scoping import Scope

    return Scope.system(council)


@pytest.fixture
def acme(system):
    from careledger.records import services

    return services.provider_create(scope=system, ref="ACME-CARE", name="Acme Care Ltd")


@pytest.fixture
def staff_user(council, django_user_model):
    from careledger.access.models import Membership

    user = django_user_model.objects.create_user(username="commissioner", password="a-long-test-password")
    Membership.objects.create(user=user, council=council, role=Membership.Role.COMMISSIONER)
    return user


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client
