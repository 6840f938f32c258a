"""The demo council's delivery data: visits imported through the services, statuses stored."""

from __future__ import annotations

from datetime import date

import pytest

from careledger.demo.build import COUNCIL_CODE, build_demo
from careledger.ingest.models import Carer, ImportRun, Visit
from careledger.monitoring.models import PackageStatus
from careledger.records import models as m

pytestmark = pytest.mark.django_db

PEOPLE = 20
UPTO = date(2026, 6, 30)


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.delenv("CARELEDGER_DEMO_PASSWORD", raising=False)
    return build_demo(people=PEOPLE, upto=UPTO)


def test_the_demo_has_visits_and_a_status_for_every_package(demo):
    council = m.Council.objects.get(code=COUNCIL_CODE)
    visits = Visit.objects.filter(council=council)
    assert visits.count() == demo.visits_stored == demo.visits_imported > 1000
    assert visits.filter(status="missed").exists() and visits.filter(person__ref="MARY-86").exists()
    assert Carer.objects.filter(council=council, gender="male").exists()
    assert ImportRun.objects.filter(council=council, rejected=0).count() == 2  # carers, then visits
    with_plan = set(m.Person.objects.filter(council=council, care_plan__isnull=False).values_list("ref", flat=True))
    stored = set(PackageStatus.objects.filter(council=council, as_of=UPTO).values_list("person__ref", flat=True))
    assert stored == with_plan
    assert demo.packages_by_rag.get("red", 0) >= 1
    assert sum(demo.packages_by_rag.values()) == len(with_plan)
    mary = PackageStatus.objects.get(person__ref="MARY-86")
    assert mary.followed == "amber"  # two visits by a man, whom she asked not to have
    text = demo.describe("http://127.0.0.1:8000/")
    assert f"up to {UPTO.isoformat()}" in text and " red, " in text


def test_a_second_build_adds_no_visits(demo):
    visits = sorted(Visit.objects.values_list("id", "content_hash"))
    runs = ImportRun.objects.count()
    statuses = sorted(PackageStatus.objects.values_list("person_id", "computed_at"))
    again = build_demo(people=PEOPLE, upto=UPTO)
    assert again.visits_imported == 0
    assert sorted(Visit.objects.values_list("id", "content_hash")) == visits
    assert ImportRun.objects.count() == runs  # nothing new: no import at all
    assert sorted(PackageStatus.objects.values_list("person_id", "computed_at")) == statuses
    assert again.packages_by_rag == demo.packages_by_rag
