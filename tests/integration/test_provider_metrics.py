"""Provider metrics: visits delivered, on time and missed, carer continuity, packages and open alerts.

Every figure below is counted by hand from the visits listed in ``VISITS``.
"""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner

from careledger.ingest.services import import_file
from careledger.monitoring.models import Alert
from careledger.monitoring.selectors import provider_metrics
from careledger.records import services
from careledger.records.errors import NotFound
from careledger.records.models import Contract
from careledger.records.scoping import Scope

pytestmark = pytest.mark.django_db

HEADER = "visit_ref,person_ref,provider_ref,service_ref,carer_ref,planned_start,planned_minutes,actual_start,actual_end,status\n"
VISITS = HEADER + (
    # ACME (late after 15 minutes, its contract), Mary
    "A1,MARY-86,ACME-CARE,homecare,C1,2026-04-06 09:00,60,2026-04-06 09:10,2026-04-06 10:10,completed\n"  # on time (10 min)
    "A2,MARY-86,ACME-CARE,homecare,C2,2026-04-07 09:00,30,2026-04-07 09:20,2026-04-07 09:50,completed\n"  # late (20 > 15)
    "A3,MARY-86,ACME-CARE,homecare,C1,2026-04-08 09:00,60,,,missed\n"  # missed; its carer does not count
    "A4,MARY-86,ACME-CARE,homecare,C7,2026-04-09 09:00,30,,,cancelled_by_person\n"  # not scheduled
    "A5,MARY-86,ACME-CARE,homecare,C8,2026-04-10 09:00,60,,,cancelled_by_provider\n"  # missed
    "A6,MARY-86,ACME-CARE,homecare,C3,2026-04-11 09:00,30,2026-04-11 09:15,2026-04-11 09:45,completed\n"  # on time (15 is not over 15)
    "A7,MARY-86,ACME-CARE,homecare,C9,2026-04-13 09:00,30,2026-04-13 09:00,2026-04-13 09:30,completed\n"  # after as_of
    "A8,MARY-86,ACME-CARE,homecare,C4,2026-04-05 09:00,30,2026-04-05 09:00,2026-04-05 09:30,completed\n"  # before since; continuity only
    # ACME, Ann
    "B1,ANN-2,ACME-CARE,homecare,C1,2026-04-06 19:00,15,2026-04-06 19:16,2026-04-06 19:31,completed\n"  # late (16 > 15)
    "B2,ANN-2,ACME-CARE,homecare,C5,2026-04-07 19:00,15,2026-04-07 19:00,,in_progress\n"  # scheduled, neither delivered nor missed
    "B3,ANN-2,ACME-CARE,homecare,C6,2026-04-08 19:00,15,2026-04-08 19:00,2026-04-08 19:15,completed\n"  # on time
    # BETA (default: late after 30 minutes), Bob
    "K1,BOB-1,BETA-CARE,homecare,K1,2026-04-06 09:00,60,2026-04-06 09:30,2026-04-06 10:30,completed\n"  # on time (30 is not over 30)
    "K2,BOB-1,BETA-CARE,homecare,K1,2026-04-07 09:00,30,2026-04-07 09:31,2026-04-07 10:01,completed\n"  # late
    "K3,BOB-1,BETA-CARE,homecare,K1,2026-04-08 09:00,30,,,missed\n"
)
SINCE, AS_OF = date(2026, 4, 6), date(2026, 4, 12)


@pytest.fixture
def world(council, system, acme, mary_data):
    services.provider_create(scope=system, ref="BETA-CARE", name="Beta Care")
    services.plan_import(scope=system, raw=mary_data)
    for ref, provider in (("ANN-2", "ACME-CARE"), ("BOB-1", "BETA-CARE")):
        plan = json.loads(json.dumps(mary_data))
        plan["person"]["ref"] = ref
        plan["services"][0]["provider"] = provider
        services.plan_import(scope=system, raw=plan)
    Contract.objects.filter(provider=acme).update(late_after_minutes=15)
    run = import_file(scope=system, kind="visits", stream=io.BytesIO(VISITS.encode()), source="visits.csv").run
    assert (run.added, run.rejected) == (14, 0), list(run.rejections.values_list("line", "field", "reason"))
    people = {p.ref: p for p in council.people.all()}
    for ref, status, cause in (("MARY-86", "open", "a"), ("MARY-86", "acknowledged", "b"), ("MARY-86", "resolved", "c"), ("BOB-1", "open", "a")):
        Alert.objects.create(council=council, person=people[ref], code="missed_visits", severity="high", cause=cause, message="m", status=status, as_of=AS_OF)
    return people


def test_council_staff_see_every_provider_counted_by_hand(world, system):
    acme, beta = provider_metrics(scope=system, as_of=AS_OF, since=SINCE)
    assert (acme.provider_ref, acme.scheduled, acme.delivered, acme.late, acme.on_time, acme.missed) == ("ACME-CARE", 8, 5, 2, 3, 2)
    assert acme.on_time_rate == Decimal("0.6") and acme.missed_rate == Decimal("0.25")
    assert acme.continuity == Decimal("3.5")  # Mary: C1, C2, C3, C4; Ann: C1, C5, C6 -> median of 4 and 3
    assert (acme.people_visited, acme.packages, acme.open_alerts) == (2, 2, 2)  # Mary's resolved alert is not open
    assert (beta.provider_ref, beta.scheduled, beta.delivered, beta.late, beta.on_time, beta.missed) == ("BETA-CARE", 3, 2, 1, 1, 1)
    assert beta.missed_rate == Decimal("0." + "3" * 60)  # a third, to 60 significant digits
    assert (beta.continuity, beta.packages, beta.open_alerts) == (Decimal(1), 1, 1)
    shown = beta.as_dict()
    assert (shown["on_time_percent"], shown["missed_percent"], shown["continuity_median_carers"]) == ("50.0", "33.3", "1")


def test_the_default_period_is_the_four_weeks_up_to_as_of(world, system):
    (later,) = provider_metrics(scope=system, as_of=date(2026, 4, 13), provider_ref="ACME-CARE")
    assert later.since == date(2026, 3, 17)
    assert (later.scheduled, later.delivered, later.late, later.missed) == (10, 7, 2, 2)  # A7 and A8 now in it


def test_a_provider_sees_only_itself_and_a_person_nothing(world, council):
    acme_id = council.providers.get(ref="ACME-CARE").pk
    as_acme = Scope(council, "test", provider_ids=frozenset({acme_id}))
    (only,) = provider_metrics(scope=as_acme, as_of=AS_OF, since=SINCE)
    assert (only.provider_ref, only.scheduled, only.continuity, only.packages, only.open_alerts) == ("ACME-CARE", 8, Decimal("3.5"), 2, 2)
    with pytest.raises(NotFound):
        provider_metrics(scope=as_acme, as_of=AS_OF, provider_ref="BETA-CARE")
    as_mary = Scope(council, "test", person_ids=frozenset({world["MARY-86"].pk}))
    assert provider_metrics(scope=as_mary, as_of=AS_OF) == []


def test_api_and_cli(world, staff_client, monkeypatch, settings):
    response = staff_client.get("/api/v1/councils/NOR/providers/metrics", {"as_of": "2026-04-12", "since": "2026-04-06"})
    assert response.status_code == 200
    body = response.json()
    assert [(r["provider_ref"], r["on_time_rate"], r["missed_percent"]) for r in body] == [("ACME-CARE", "0.6", "25.0"), ("BETA-CARE", "0.5", "33.3")]
    bad = staff_client.get("/api/v1/councils/NOR/providers/metrics", {"as_of": "2026-04-12", "since": "2026-04-13"})
    assert bad.status_code == 400 and "since" in bad.json()["detail"]
    from careledger.cli.main import cli

    result = CliRunner().invoke(cli, ["provider", "metrics", "--as-of", "2026-04-12", "--since", "2026-04-06", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == body
    text = CliRunner().invoke(cli, ["provider", "metrics", "--as-of", "2026-04-12", "--since", "2026-04-06", "--provider", "BETA-CARE"])
    assert "BETA-CARE" in text.output and "2 of 3 visits delivered, 50.0% on time, 33.3% missed" in text.output
