"""The demo's outcomes, reviews and incidents: Mary's from the seed, a realistic spread, nothing added twice."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest

from careledger.audit.models import AuditEntry
from careledger.demo.build import build_demo, generate_people
from careledger.demo.outcomes import generate_outcomes
from careledger.ledger.models import LedgerEntry
from careledger.monitoring.models import PackageStatus
from careledger.outcomes.models import Incident, Outcome, Rating, Review

pytestmark = pytest.mark.django_db

PEOPLE = 20
UPTO = date(2026, 8, 20)  # small and short: a demo build with its visits and statuses is the slow part


def test_histories_are_repeatable_and_per_person() -> None:
    people = generate_people(2026, PEOPLE)
    first = [generate_outcomes(2026, entry, UPTO) for entry in people]
    assert first == [generate_outcomes(2026, entry, UPTO) for entry in generate_people(2026, PEOPLE)]
    assert generate_outcomes(2026, people[5], UPTO) != generate_outcomes(7, people[5], UPTO)
    # A shorter horizon is the start of the longer one (a later rebuild only adds).
    earlier = generate_outcomes(2026, people[0], date(2026, 7, 1))
    assert [r.held_on for r in earlier.reviews] == [date(2026, 5, 18), date(2026, 6, 29)]


@pytest.mark.slow
def test_the_demo_has_reviews_with_a_realistic_spread_and_a_rerun_adds_nothing(monkeypatch):
    monkeypatch.delenv("CARELEDGER_DEMO_PASSWORD", raising=False)
    build_demo(people=PEOPLE, upto=UPTO)
    mary = Review.objects.filter(person__ref="MARY-86").order_by("held_on")
    assert [r.held_on for r in mary] == [date(2026, 5, 18), date(2026, 6, 29), date(2026, 8, 10)]
    changes = {r.outcome.ref: r.change for r in Rating.objects.filter(review=mary[0]).select_related("outcome")}
    assert changes["shower"] == "improving"
    assert Rating.objects.get(review=mary[1], outcome__ref="church").change == "worse"
    assert sorted(Outcome.objects.filter(person__ref="MARY-86").values_list("ref", flat=True)) == ["church", "eat-drink", "know-who", "shower", "tablets"]
    dispute = Incident.objects.get(person__ref="MARY-86")
    assert (dispute.kind, dispute.status, dispute.adjustment_amount) == ("dispute", "settled", Decimal("12.50"))
    assert LedgerEntry.objects.filter(source_ref=f"incident:{dispute.pk}", amount=Decimal("12.50"), kind="refund").count() == 1
    status = PackageStatus.objects.get(person__ref="MARY-86").status["working"]
    assert (status["last_review"], status["next_review_due"], status["outcomes"], status["rag"]) == ("2026-08-10", "2026-09-21", 5, "green")

    working = Counter(PackageStatus.objects.values_list("working", flat=True))
    assert working["green"] > PEOPLE / 2  # most packages are working
    assert working["amber"] + working["red"] >= 2  # and some are not, each for its reasons
    counts = (Outcome.objects.count(), Review.objects.count(), Rating.objects.count(), Incident.objects.count(), AuditEntry.objects.count())
    build_demo(people=PEOPLE, upto=UPTO)
    assert (Outcome.objects.count(), Review.objects.count(), Rating.objects.count(), Incident.objects.count(), AuditEntry.objects.count()) == counts
