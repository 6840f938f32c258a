"""`careledger outcomes …` commands: outcomes, reviews, incidents and value for money.

The operator's CLI acts for the whole council (``cli`` in the audit trail). Dates are
YYYY-MM-DD; ratings are ideal_state, no_needs, some_needs or high_needs.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import click

DATE = click.DateTime(["%Y-%m-%d"])
COUNCIL = click.option("--council", "council_code", metavar="CODE", help="The council (may be left out when there is only one).")
AS_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _scope(council_code: str | None):
    from .main import setup_django

    setup_django()
    from careledger.records import selectors
    from careledger.records.scoping import Scope

    return Scope.system(selectors.council_resolve(council_code))


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _today() -> date:
    from careledger.records.selectors import today_in_london

    return today_in_london()


def _pairs(values: tuple[str, ...], what: str) -> list[tuple[str, str]]:
    found = []
    for value in values:
        key, sep, level = value.partition("=")
        if not sep or not key.strip() or not level.strip():
            raise click.BadParameter(f"{value!r}: use NAME=RATING, e.g. church=some_needs", param_hint=what)
        found.append((key.strip(), level.strip()))
    return found


@click.group("outcomes")
def outcomes_group() -> None:
    """Outcomes, reviews, incidents and value for money ("working?")."""


# -- outcomes -------------------------------------------------------------------------------------


@outcomes_group.command("list")
@click.argument("person_ref")
@click.option("--as-of", type=DATE, help="As at this date (default today).")
@COUNCIL
@AS_JSON
def outcome_list(person_ref: str, as_of, council_code: str | None, as_json: bool) -> None:
    """PERSON_REF's outcomes in their own words, with who agreed them, and each one's ratings."""
    scope = _scope(council_code)
    from careledger.outcomes import selectors

    views = selectors.person_outcomes(person=scope.person(person_ref), as_of=_day(as_of))
    if as_json:
        click.echo(json.dumps([v.as_dict() for v in views]))
        return
    if not views:
        click.echo(f"{person_ref}: no outcomes recorded")
    for v in views:
        ratings = " -> ".join(level.label.lower() for _, level in v.ratings) or "not rated yet"
        moved = f" ({v.change.value})" if v.change else ""
        click.echo(f"{v.ref:<14} {v.domain.label}: \"{v.text}\"")
        click.echo(f"{'':<14} agreed {v.agreed_on.isoformat()} by {v.agreed_by}; {ratings}{moved}")


@outcomes_group.command("add")
@click.argument("person_ref")
@click.argument("ref")
@click.argument("text")
@click.option("--domain", required=True, help="The ASCOT domain: control, personal_care, food_drink, safety, social_participation, occupation, accommodation, dignity.")
@click.option("--agreed-on", type=DATE, help="Default today.")
@click.option("--agreed-by", required=True, help="Who agreed it, e.g. \"Mary, her son, the social worker\".")
@click.option("--baseline", help="How things are now: ideal_state, no_needs, some_needs or high_needs.")
@COUNCIL
def outcome_add(person_ref: str, ref: str, text: str, domain: str, agreed_on, agreed_by: str, baseline: str | None, council_code: str | None) -> None:
    """Record an outcome REF for PERSON_REF in their own words (TEXT)."""
    scope = _scope(council_code)
    from careledger.outcomes import services

    outcome = services.outcome_record(scope=scope, person_ref=person_ref, ref=ref, text=text, domain=domain,
                                      agreed_on=_day(agreed_on) or _today(), agreed_by=agreed_by, baseline=baseline)  # fmt: skip
    click.echo(f"{person_ref}: outcome {outcome.ref} recorded ({outcome.get_domain_display()}), agreed {outcome.agreed_on.isoformat()}")


@outcomes_group.command("working")
@click.argument("person_ref")
@click.option("--as-of", type=DATE, help="Default today.")
@COUNCIL
@AS_JSON
def working(person_ref: str, as_of, council_code: str | None, as_json: bool) -> None:
    """Is PERSON_REF's package working? Outcomes improving, same or worse, reviews, incidents, and why."""
    scope = _scope(council_code)
    from careledger.monitoring.services import package_view

    day = _day(as_of) or _today()
    w = package_view(scope=scope, person_ref=person_ref, as_of=day).status["working"]
    if as_json:
        click.echo(json.dumps(w))
        return
    click.echo(f"{person_ref} as at {day.isoformat()}: working? {w['rag'].upper()}")
    click.echo(f"  {w['outcomes']} outcomes: {w['improving']} improving, {w['same']} same, {w['worse']} worse")
    click.echo(f"  last review {w['last_review'] or 'none yet'}; next due {w['next_review_due']}{' (OVERDUE)' if w['review_overdue'] else ''}; "
               f"{w['open_incidents']} open incidents")  # fmt: skip
    for reason in w["reasons"]:
        click.echo(f"  - {reason}")


# -- reviews --------------------------------------------------------------------------------------


@outcomes_group.command("reviews-due")
@click.option("--as-of", type=DATE, help="Default today.")
@click.option("--within-days", type=click.IntRange(0, 366), default=0, show_default=True, help="Also reviews due this many days ahead.")
@click.option("--overdue-only", is_flag=True)
@COUNCIL
@AS_JSON
def reviews_due(as_of, within_days: int, overdue_only: bool, council_code: str | None, as_json: bool) -> None:
    """Reviews due or overdue, most overdue first, on each plan's cadence."""
    scope = _scope(council_code)
    from careledger.outcomes import selectors

    day = _day(as_of) or _today()
    found = selectors.reviews_due(scope=scope, as_of=day, within_days=within_days, overdue_only=overdue_only)
    if as_json:
        click.echo(json.dumps([d.as_dict() for d in found]))
        return
    overdue = sum(1 for d in found if d.overdue)
    click.echo(f"{len(found)} reviews due by {day.isoformat()}{f' + {within_days} days' if within_days else ''}; {overdue} overdue")
    for d in found:
        when = f"OVERDUE {d.days_overdue} days" if d.overdue else "due"
        last = d.last_review.isoformat() if d.last_review else "none yet"
        click.echo(f"  {d.person_ref:<12} {when:<18} {d.due.isoformat()}  last review {last}; {d.cadence}")


@outcomes_group.command("review-record")
@click.argument("person_ref")
@click.option("--held-on", type=DATE, help="Default today.")
@click.option("--method", type=click.Choice(["in_person", "phone", "video", "paper"]), required=True)
@click.option("--participant", "participants", multiple=True, required=True, help="Who took part (repeat).")
@click.option("--rate", "rates", multiple=True, metavar="OUTCOME=RATING", help="Each current outcome's rating (repeat), e.g. church=some_needs.")
@click.option("--domain", "domains", multiple=True, metavar="DOMAIN=RATING", help="An ASCOT domain's rating, for the score out of 24 (repeat).")
@click.option("--comments", default="", help="The person's own comments.")
@click.option("--decisions", default="")
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A changed plan file: a new plan version.")
@click.option("--effective-from", type=DATE, help="When the changed plan takes effect (default the review's date).")
@COUNCIL
@AS_JSON
def review_record(person_ref: str, held_on, method: str, participants, rates, domains, comments: str, decisions: str,
                  plan_file: Path | None, effective_from, council_code: str | None, as_json: bool) -> None:  # fmt: skip
    """Record a review of PERSON_REF: who took part, how, every outcome rated, comments, decisions."""
    scope = _scope(council_code)
    from careledger.outcomes import services

    plan = None
    if plan_file is not None:
        try:
            plan = json.loads(plan_file.read_text())
        except (ValueError, UnicodeDecodeError) as error:
            raise click.ClickException(f"{plan_file}: not JSON ({error})") from None
    review = services.review_record(
        scope=scope, person_ref=person_ref, held_on=_day(held_on) or _today(), method=method, participants=list(participants),
        ratings=[{"outcome": ref, "rating": level} for ref, level in _pairs(rates, "--rate")],
        domain_ratings_given=dict(_pairs(domains, "--domain")), comments=comments, decisions=decisions, plan=plan,
        plan_effective_from=_day(effective_from),
    )  # fmt: skip
    if as_json:
        click.echo(json.dumps({"id": review.pk, "held_on": review.held_on.isoformat(), "quality_of_life": review.quality_of_life,
                               "plan_version": review.plan_version.number if review.plan_version_id else None}))  # fmt: skip
        return
    click.echo(f"{person_ref}: review of {review.held_on.isoformat()} recorded (due {review.due_on.isoformat() if review.due_on else '-'})")
    for rating in review.ratings.select_related("outcome"):
        click.echo(f"  {rating.outcome.ref:<14} {rating.level:<12} {rating.change or 'first rating'}")
    score = review.quality_of_life
    click.echo(f"  quality of life: {score} out of 24" if score is not None else "  quality of life: not scored (rate all eight domains)")
    if review.plan_version_id:
        click.echo(f"  plan version {review.plan_version.number} in force from {review.plan_version.effective_from.isoformat()}")


@outcomes_group.command("reviews")
@click.argument("person_ref")
@COUNCIL
@AS_JSON
def review_history(person_ref: str, council_code: str | None, as_json: bool) -> None:
    """PERSON_REF's reviews, oldest first."""
    scope = _scope(council_code)
    from careledger.outcomes import selectors

    reviews = [selectors.review_dict(r) for r in selectors.review_list(scope=scope, person_ref=person_ref)]
    if as_json:
        click.echo(json.dumps(reviews))
        return
    for r in reviews:
        changes = ", ".join(f"{x['outcome']} {x['change'] or 'rated'}" for x in r["ratings"])
        click.echo(f"{r['held_on']} ({r['method']}, {', '.join(r['participants'])}): quality of life {r['quality_of_life']}; {changes}")


# -- incidents ------------------------------------------------------------------------------------


@outcomes_group.group("incident")
def incident() -> None:
    """Complaints, service failures, safeguarding flags and disputes."""


@incident.command("raise")
@click.argument("person_ref")
@click.option("--kind", type=click.Choice(["missed_visit", "late_visit", "service_failure", "safeguarding", "dispute", "other"]), required=True)
@click.option("--summary", required=True)
@click.option("--happened-on", type=DATE, help="Default today.")
@click.option("--provider", "provider_ref", metavar="REF")
@click.option("--visit", "visit_refs", multiple=True, metavar="VISIT_REF", help="A visit it is about (repeat).")
@click.option("--party", "parties", multiple=True, type=click.Choice(["council", "person", "provider"]), help="A dispute's party (repeat).")
@click.option("--safeguarding-link", default="", help="For a safeguarding concern: the link to the council's record.")
@COUNCIL
def incident_raise(person_ref: str, kind: str, summary: str, happened_on, provider_ref, visit_refs, parties, safeguarding_link: str,
                   council_code: str | None) -> None:  # fmt: skip
    """Raise an incident about PERSON_REF's care."""
    scope = _scope(council_code)
    from careledger.outcomes import services

    found = services.incident_raise(scope=scope, person_ref=person_ref, kind=kind, summary=summary, happened_on=_day(happened_on) or _today(),
                                    provider_ref=provider_ref, visit_refs=visit_refs, parties=parties, safeguarding_link=safeguarding_link)  # fmt: skip
    click.echo(f"incident {found.pk} raised for {person_ref}: {found.get_kind_display()}; owner {found.owner}")


@incident.command("list")
@click.option("--status", help="open (with those being looked into), investigating, settled or closed; default all.")
@click.option("--person", "person_ref", metavar="REF")
@click.option("--provider", "provider_ref", metavar="REF")
@COUNCIL
@AS_JSON
def incident_list(status, person_ref, provider_ref, council_code: str | None, as_json: bool) -> None:
    """Incidents, newest first."""
    scope = _scope(council_code)
    from careledger.outcomes import selectors

    found = [selectors.incident_dict(i) for i in selectors.incident_list(scope=scope, status=status, person_ref=person_ref, provider_ref=provider_ref)]
    if as_json:
        click.echo(json.dumps(found))
        return
    click.echo(f"{len(found)} incidents")
    for i in found:
        money = f"; {i['adjustment_kind']} £{i['adjustment']}" if i["adjustment"] else ""
        click.echo(f"  {i['id']:>5} {i['happened_on']} {i['person_ref']:<12} {i['kind']:<16} {i['status']:<13} owner {i['owner']}{money}")


@incident.command("update")
@click.argument("incident_id", type=int)
@click.option("--status", type=click.Choice(["open", "investigating", "closed"]))
@click.option("--owner", type=click.Choice(["council", "provider"]))
@click.option("--note", default="")
@COUNCIL
def incident_update(incident_id: int, status, owner, note: str, council_code: str | None) -> None:
    """Move incident INCIDENT_ID on, hand it over, or close it without settlement (with a note)."""
    scope = _scope(council_code)
    from careledger.outcomes import services

    found = services.incident_update(scope=scope, incident_id=incident_id, status=status, owner=owner, note=note)
    click.echo(f"incident {found.pk}: {found.status}, owner {found.owner}")


@incident.command("settle")
@click.argument("incident_id", type=int)
@click.option("--resolution", required=True, help="What was agreed.")
@click.option("--credit", help="An agreed credit to the budget in pounds (a refund), e.g. 12.50.")
@click.option("--adjustment", help="Any other agreed adjustment in pounds, signed (negative takes money back).")
@click.option("--day", type=DATE, help="The ledger entry's date (default the settlement's).")
@click.option("--settled-on", type=DATE, help="When it was agreed (default today).")
@COUNCIL
def incident_settle(incident_id: int, resolution: str, credit, adjustment, day, settled_on, council_code: str | None) -> None:
    """Settle incident INCIDENT_ID; a credit or adjustment is posted to the person's ledger once."""
    if credit and adjustment:
        raise click.UsageError("give --credit or --adjustment, not both")
    scope = _scope(council_code)
    from careledger.outcomes import services

    found = services.incident_settle(scope=scope, incident_id=incident_id, resolution=resolution, adjustment=credit or adjustment,
                                     adjustment_kind="refund" if credit else "adjustment", adjustment_day=_day(day),
                                     settled_on=_day(settled_on))  # fmt: skip
    money = f"; £{found.adjustment_amount} {found.adjustment_kind} posted to the ledger ({found.ledger_source})" if found.ledger_source else ""
    click.echo(f"incident {found.pk} settled on {found.settled_on.isoformat()}{money}")


# -- value for money ------------------------------------------------------------------------------


@outcomes_group.command("value-for-money")
@click.option("--as-of", type=DATE, help="Outcomes as at this date (default today); spend is from each package's stored status.")
@click.option("--provider", "provider_ref", metavar="REF", help="Only this provider's packages.")
@click.option("--packages/--no-packages", default=False, show_default=True, help="List each package too.")
@COUNCIL
@AS_JSON
def value_for_money(as_of, provider_ref, packages: bool, council_code: str | None, as_json: bool) -> None:
    """Spend beside outcome change: the council, each provider and (with --packages) each package."""
    scope = _scope(council_code)
    from careledger.monitoring.models import PackageStatus
    from careledger.outcomes import selectors

    rows = PackageStatus.objects.filter(council=scope.council).values_list("person_id", "budget", "spent", "provider_ref", "as_of", "mechanism")
    found = selectors.value_for_money(scope=scope, spend=selectors.spend_from_rows(rows), as_of=_day(as_of))
    if provider_ref:
        found["packages"] = [p for p in found["packages"] if p["provider_ref"] == provider_ref]
        found["by_provider"] = {k: v for k, v in found["by_provider"].items() if k == provider_ref}
    if as_json:
        click.echo(json.dumps(found))
        return

    def line(name: str, t: dict) -> str:
        per = t["spent_per_improving_outcome"] or "-"
        qol = t["mean_quality_of_life_change"] or "-"
        return (f"  {name:<16} {t['packages']:>5} packages  spent £{t['spent']:>12}  outcomes {t['outcomes']:>4}: "
                f"{t['improving']:>3} better {t['same']:>3} same {t['worse']:>3} worse  spent per better £{per:>10}  mean QoL change {qol}")  # fmt: skip

    click.echo(f"Value for money as at {found['as_of']} (outcome change over the ratings so far)")
    click.echo(line("council", found["total"]))
    for ref, tally in found["by_provider"].items():
        click.echo(line(ref, tally))
    if packages:
        for p in found["packages"]:
            click.echo(f"    {p['person_ref']:<12} {p['provider_ref'] or '-':<14} spent £{p['spent'] or '-':>10}  {p['improving']} better, "
                       f"{p['same']} same, {p['worse']} worse; QoL {p['quality_of_life_first']} -> {p['quality_of_life_latest']}")  # fmt: skip
