"""Fixtures shared by the integration and end-to-end tests (the unit tests need none)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest


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
