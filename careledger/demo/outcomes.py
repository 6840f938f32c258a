"""The demo people's outcomes, past reviews and incidents: deterministic from the seed, idempotent on re-run.

Two halves, like the rest of the demo:

* :func:`generate_outcomes` is pure: from the seed, one person's plan versions and the
  last day to cover, it says which outcomes were agreed (from their plan, with a
  baseline), which reviews were held (on the plan's cadence; a direct payment's first
  within six months), how each outcome and ASCOT domain was rated at each, and which
  incidents were raised and settled. Each person draws from their own random stream
  (seed and person ref), so nobody's history depends on anyone else's.
* :func:`load_outcomes` writes what is not there yet through the outcomes services
  (so everything is in the audit trail), in review order.

The spread is meant to look like a council's: most people reviewed on time with
outcomes holding or improving (green); some with an outcome that got worse or an
open complaint (amber); a few whose review has lapsed or with two open incidents
(red). Mary (``MARY-86``) has her outcomes from the seed (showering safely, eating and
drinking, her tablets, knowing who is coming, and church from her plan), her six-weekly
reviews (at the first, showering is better; at the second, church is worse: the Sunday
visit came too late, and the agency moves it within her hours, as an ISF allows), and
a disputed visit that her son raised, settled with a £12.50 credit to her budget.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from careledger.domain.outcomes import DOMAINS, Level, ReviewCadence, add_weeks, next_review_due

__all__ = ["DemoReview", "DemoIncident", "DemoHistory", "generate_outcomes", "load_outcomes", "OutcomesLoad"]

BY_SCORE = {3: Level.IDEAL_STATE, 2: Level.NO_NEEDS, 1: Level.SOME_NEEDS, 0: Level.HIGH_NEEDS}
WORKERS = ("the social worker", "the care manager", "the reviewing officer", "the occupational therapist")
METHODS = ("in_person", "in_person", "in_person", "phone", "video")
PERSON_COMMENTS = (
    "Things are going well; I like my regular carers.",
    "I'd like to know the rota a week ahead.",
    "Some mornings they come too late for me.",
    "I feel more confident than I did.",
    "I'm happy with how things are.",
    "I'd like a bit more time at tea-time.",
)
DECISIONS = ("Carry on as planned.", "Carry on as planned; agency to send the weekly rota.", "Provider to keep the same carers where it can.",
             "Social worker to check the evening call times with the agency.")  # fmt: skip
COMPLAINTS = (
    ("missed_visit", "Nobody came for the morning call"),
    ("late_visit", "The tea-time call was over an hour late"),
    ("service_failure", "A new carer did not know the routine and left early"),
    ("dispute", "The timesheet shows a visit that did not happen"),
)


@dataclass(frozen=True)
class DemoReview:
    held_on: date
    method: str
    participants: tuple[str, ...]
    ratings: dict[str, Level]  # outcome ref -> level
    domains: dict[str, Level]  # all eight ASCOT domains
    comments: str
    decisions: str
    plan_change_on: date | None = None  # the plan version this review made (already imported by the demo)


@dataclass(frozen=True)
class DemoIncident:
    kind: str
    summary: str
    happened_on: date
    by_provider: bool
    settled_on: date | None = None
    resolution: str = ""
    credit: Decimal | None = None


@dataclass
class DemoHistory:
    ref: str
    agreed_by: str
    baselines: dict[str, Level] = field(default_factory=dict)  # plan outcome ref -> baseline
    extra_outcomes: list[dict[str, Any]] = field(default_factory=list)  # recorded besides the plan's (Mary's from the seed)
    reviews: list[DemoReview] = field(default_factory=list)
    incidents: list[DemoIncident] = field(default_factory=list)


def _walk(rng: random.Random, score: int, worse: float, better: float) -> int:
    roll = rng.random()
    if roll < worse:
        return max(0, score - 1)
    if roll < worse + better:
        return min(3, score + 1)
    return score


MARY_EXTRA = (
    ("shower", "Have a shower safely, with someone there", "personal_care"),
    ("eat-drink", "Eat properly and drink enough", "food_drink"),
    ("tablets", "Take my tablets at the right times", "safety"),
    ("know-who", "Know who is coming to help me, and have women carers", "control"),
)


def _mary(entry: dict[str, Any], upto: date) -> DemoHistory:
    plan = entry["versions"][0]["plan"]
    start = date.fromisoformat(plan["budget"]["start_date"])
    who = ("Mary", "David (son)", "the social worker")
    history = DemoHistory("MARY-86", "Mary, her son David and the social worker", baselines={"church": Level.NO_NEEDS})
    history.extra_outcomes = [{"ref": r, "text": t, "domain": d, "baseline": Level.SOME_NEEDS} for r, t, d in MARY_EXTRA]
    levels = {"church": 2, "shower": 1, "eat-drink": 1, "tablets": 1, "know-who": 1}
    domains = {d.value: 1 for d in DOMAINS} | {"social_participation": 2, "accommodation": 2}
    script = [
        ({"shower": 2}, {"personal_care": 2}, "in_person", "I feel safe in the shower now. I'd like to know the rota a week ahead.",
         "Agency to send Mary the weekly rota."),
        ({"church": 1, "shower": 3}, {"social_participation": 1, "personal_care": 3, "dignity": 2}, "phone",
         "I missed church twice: they came too late on Sunday to get me ready.",
         "Agency moves the Sunday morning visit to 08:30 within Mary's hours (an ISF change; no new plan needed)."),
        ({"church": 2, "know-who": 2}, {"social_participation": 2, "control": 2}, "in_person", "I'm back at church. I know who's coming now.",
         "Carry on as planned."),
    ]  # fmt: skip
    last = None
    n = 0
    while True:
        due = next_review_due(start=start, cadence=ReviewCadence(every_weeks=6), last_review=last)
        if due > upto:
            break
        ratings, domain_moves, method, comments, decisions = script[n] if n < len(script) else ({}, {}, "phone", "Things are going well.", "Carry on as planned.")
        levels.update(ratings)
        domains.update(domain_moves)
        history.reviews.append(DemoReview(due, method, who, {k: BY_SCORE[v] for k, v in levels.items()},
                                          {k: BY_SCORE[v] for k, v in domains.items()}, comments, decisions))  # fmt: skip
        last, n = due, n + 1
    if date(2026, 5, 20) <= upto:
        history.incidents.append(DemoIncident(
            "dispute", "Nobody came on Monday morning (4 May); Mum did not get her shower. The timesheet shows the visit.",
            date(2026, 5, 4), by_provider=False, settled_on=date(2026, 5, 20),
            resolution="The agency could not show the carer's check-in; it credits the hour.", credit=Decimal("12.50"),
        ))  # fmt: skip
    return history


def generate_outcomes(seed: int, entry: dict[str, Any], upto: date) -> DemoHistory:
    """One person's outcomes, reviews and incidents up to ``upto`` (pure; see the module docstring)."""
    if entry["ref"] == "MARY-86":
        return _mary(entry, upto)
    rng = random.Random(f"{seed}:outcomes:{entry['ref']}")
    versions = entry["versions"]
    plan = versions[0]["plan"]
    start = date.fromisoformat(plan["budget"]["start_date"])
    worker = rng.choice(WORKERS)
    rep = entry.get("representative")
    family = f"their {rep['relationship'].lower()}" if rep else None
    history = DemoHistory(entry["ref"], ", ".join(["the person"] + ([family] if family else []) + [worker]))
    if start > upto:
        return history  # the package has not started yet: nothing agreed or reviewed so far
    who = tuple(["the person"] + ([family] if family and rng.random() < 0.7 else []) + [worker])

    profile = rng.choices(["good", "mixed", "lapsed"], weights=[76, 16, 8])[0]
    outcome_scores = {}
    for outcome in plan.get("outcomes", []):
        outcome_scores[outcome["ref"]] = rng.choice([0, 1, 1, 1, 2])
        history.baselines[outcome["ref"]] = BY_SCORE[outcome_scores[outcome["ref"]]]
    domain_scores = {d.value: rng.choice([1, 1, 2, 2, 2, 3]) for d in DOMAINS}
    cadence = ReviewCadence(every_weeks=plan.get("review_every_weeks"), direct_payment=plan["budget"]["delivery_mechanism"] == "direct_payment")
    changes = [date.fromisoformat(v["effective_from"]) for v in versions[1:]]
    lapse_after = add_weeks(start, rng.randrange(14, 30)) if profile == "lapsed" else None
    worse, better = (0.06, 0.3) if profile == "good" else (0.15, 0.2)

    last = None
    while True:
        due = next_review_due(start=start, cadence=cadence, last_review=last)
        change_on = next((c for c in changes if (last or start) < c <= due), None)
        held = change_on or due - timedelta(days=rng.choice([0, 0, 1, 2, 3, 5]))
        if last is not None and held <= last:
            held = last + timedelta(days=1)
        if held > upto or (lapse_after is not None and held > lapse_after):
            break
        for ref in outcome_scores:
            outcome_scores[ref] = _walk(rng, outcome_scores[ref], worse, better)
        for d in domain_scores:
            domain_scores[d] = _walk(rng, domain_scores[d], worse / 2, better / 2)
        history.reviews.append(DemoReview(
            held, rng.choice(METHODS), who, {r: BY_SCORE[s] for r, s in outcome_scores.items()},
            {d: BY_SCORE[s] for d, s in domain_scores.items()}, rng.choice(PERSON_COMMENTS),
            "Hours increased: a new plan version from today." if change_on else rng.choice(DECISIONS), change_on,
        ))  # fmt: skip
        last = held
    if profile == "mixed" and history.reviews and outcome_scores:
        # At the latest review one outcome went down a level (amber: "an outcome got worse").
        final = history.reviews[-1]
        ref = rng.choice(sorted(outcome_scores))
        before = history.reviews[-2].ratings[ref] if len(history.reviews) >= 2 else history.baselines[ref]
        lowered = BY_SCORE[max(0, before.score - 1)]
        if lowered != before:
            history.reviews[-1] = DemoReview(final.held_on, final.method, final.participants, final.ratings | {ref: lowered}, final.domains,
                                             final.comments, final.decisions, final.plan_change_on)  # fmt: skip

    # Incidents: about one person in eight has one open; a few two; more had one settled.
    roll = rng.random()
    count_open = 2 if roll < 0.02 else 1 if roll < 0.12 else 0
    settled = rng.random() < 0.12
    span = max(1, (upto - start).days)
    for i in range(count_open + (1 if settled else 0)):
        kind, summary = rng.choice(COMPLAINTS)
        happened = start + timedelta(days=rng.randrange(0, span))
        if i < count_open:
            happened = max(start, upto - timedelta(days=rng.randrange(1, 40)))
            history.incidents.append(DemoIncident(kind, summary, happened, by_provider=rng.random() < 0.3))
        else:
            settle = happened + timedelta(days=rng.randrange(3, 21))
            if settle > upto:
                history.incidents.append(DemoIncident(kind, summary, happened, by_provider=False))
                continue
            credit = Decimal(rng.choice([0, 0, 1250, 1600, 2410])) / 100 or None
            history.incidents.append(DemoIncident(kind, summary, happened, False, settle,
                                                  "Agreed with the provider" + ("; the visit is credited." if credit else "."), credit))  # fmt: skip
    return history


@dataclass
class OutcomesLoad:
    outcomes: int = 0
    reviews: int = 0
    incidents: int = 0
    settled: int = 0


def load_outcomes(scope, generated: list[dict[str, Any]], left: list[str], *, seed: int, upto: date | None = None,
                  progress: Callable[[str], None] = lambda message: None) -> OutcomesLoad:  # fmt: skip
    """Write the generated histories that are not stored yet (people left as found are skipped)."""
    from datetime import datetime

    from careledger.domain.localtime import LONDON
    from careledger.outcomes import services
    from careledger.outcomes.models import Incident, Outcome, Review
    from careledger.records.models import PlanVersion
    from careledger.records.scoping import Scope

    council = scope.council
    # The demo acts for the council as its administrator and finance officer would (the ledger takes credits from them).
    acting = Scope(council, scope.actor, whole_council=True, can_write_plans=True, roles=frozenset({"council_admin", "finance"}))
    today = datetime.now(LONDON).date()
    upto = min(upto or today - timedelta(days=1), today)
    skip = set(left)
    result = OutcomesLoad()
    people = {p.ref: p for p in council.people.all()}
    have_outcomes = set(Outcome.objects.filter(council=council).values_list("person__ref", "ref"))
    have_reviews = set(Review.objects.filter(council=council).values_list("person__ref", "held_on"))
    have_incidents = {(ref, kind, day): (pk, status) for ref, kind, day, pk, status in
                      Incident.objects.filter(council=council).values_list("person__ref", "kind", "happened_on", "id", "status")}  # fmt: skip
    progress("recording outcomes, reviews and incidents")
    for position, entry in enumerate(generated, start=1):
        ref = entry["ref"]
        if ref in skip or ref not in people:
            continue
        history = generate_outcomes(seed, entry, upto)
        start = date.fromisoformat(entry["versions"][0]["plan"]["budget"]["start_date"])
        plan_outcomes = {o["ref"]: o for o in entry["versions"][0]["plan"].get("outcomes", [])}
        for oref, baseline in history.baselines.items():
            if (ref, oref) not in have_outcomes and oref in plan_outcomes:
                o = plan_outcomes[oref]
                services.outcome_record(scope=acting, person_ref=ref, ref=oref, text=o["text"], domain=o["domain"], agreed_on=start,
                                        agreed_by=history.agreed_by, baseline=baseline.value)  # fmt: skip
                result.outcomes += 1
        for extra in history.extra_outcomes:
            if (ref, extra["ref"]) not in have_outcomes:
                services.outcome_record(scope=acting, person_ref=ref, ref=extra["ref"], text=extra["text"], domain=extra["domain"],
                                        agreed_on=start, agreed_by=history.agreed_by, baseline=extra["baseline"].value)  # fmt: skip
                result.outcomes += 1
        for review in history.reviews:
            if (ref, review.held_on) in have_reviews:
                continue
            made = services.review_record(
                scope=acting, person_ref=ref, held_on=review.held_on, method=review.method, participants=list(review.participants),
                ratings=[{"outcome": o, "rating": level.value} for o, level in review.ratings.items()],
                domain_ratings_given={d: level.value for d, level in review.domains.items()}, comments=review.comments,
                decisions=review.decisions,
            )  # fmt: skip
            if review.plan_change_on is not None:
                version = PlanVersion.objects.filter(plan__person=people[ref], effective_from=review.plan_change_on).order_by("-number").first()
                if version is not None and not hasattr(version, "review"):
                    made.plan_version = version
                    made.save(update_fields=["plan_version"])
            result.reviews += 1
        for incident in history.incidents:
            key = (ref, incident.kind, incident.happened_on)
            found = have_incidents.get(key)
            if found is None:
                raiser = acting
                if incident.by_provider:
                    provider_id = people[ref].care_plan.versions.order_by("number").first().services.order_by("id").first().provider_id
                    raiser = Scope(council, scope.actor, provider_ids=frozenset({provider_id}), roles=frozenset({"provider"}))
                made = services.incident_raise(scope=raiser, person_ref=ref, kind=incident.kind, summary=incident.summary,
                                               happened_on=incident.happened_on)  # fmt: skip
                found = (made.pk, made.status)
                result.incidents += 1
            if incident.settled_on is not None and found[1] in Incident.OPEN_STATUSES:
                services.incident_settle(scope=acting, incident_id=found[0], resolution=incident.resolution, settled_on=incident.settled_on,
                                         adjustment=incident.credit, adjustment_kind="refund")  # fmt: skip
                result.settled += 1
        if position % 100 == 0:
            progress(f"outcomes and reviews {position}/{len(generated)}")
    return result
