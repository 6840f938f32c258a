"""`careledger ledger …`: each budget's stored ledger, balance assertions, adjustments, and alert settings."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

import click

DATE = click.DateTime(["%Y-%m-%d"])


class _Errors(click.Group):
    """The services' errors as one line and exit code 1 (also when the group is invoked on its own)."""

    def invoke(self, ctx: click.Context):
        from careledger.records.errors import RecordError

        try:
            return super().invoke(ctx)
        except RecordError as error:
            raise click.ClickException(str(error)) from None


@click.group("ledger", cls=_Errors)
def ledger_group() -> None:
    """Each budget's append-only ledger: entries, balances, assertions against statements, adjustments.

    The ledger is brought up to date with every status (`careledger status`, `careledger recompute`,
    the API) and by `careledger ledger sync`. Entries are never changed: a correction is a reversal.
    """


def _setup():
    from .main import setup_django

    setup_django()


def _scope(council_code: str | None):
    from careledger.records import selectors
    from careledger.records.scoping import Scope

    return Scope.system(selectors.council_resolve(council_code))


def _money(text: str, what: str) -> Decimal:
    from careledger.domain.money import MoneyError, parse_money

    try:
        return parse_money(text, what=what)
    except MoneyError as error:
        raise click.BadParameter(str(error)) from None


COUNCIL = click.option("--council", "council_code", metavar="CODE", help="The council (may be left out when there is only one).")


@ledger_group.command("show")
@click.argument("person_ref")
@COUNCIL
@click.option("--account", default="budget", show_default=True, help='"budget" or a direct payment account ref.')
@click.option("--from", "start", type=DATE, help="First day shown (the balance before it is the opening balance).")
@click.option("--to", "end", type=DATE, help="Last day shown (default: every entry).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: entries with amounts and running balances.")
def show(person_ref: str, council_code: str | None, account: str, start, end, as_json: bool) -> None:
    """PERSON_REF's ledger entries for one account, with a running balance."""
    _setup()
    from careledger.domain.money import format_gbp, format_money
    from careledger.ledger.selectors import ledger_lines

    statement = ledger_lines(scope=_scope(council_code), person_ref=person_ref, account=account, start=start.date() if start else None, end=end.date() if end else None)
    if as_json:
        click.echo(json.dumps({
            "person_ref": statement.person_ref, "account": statement.account,
            "from": statement.start.isoformat() if statement.start else None, "to": statement.end.isoformat() if statement.end else None,
            "opening_balance": format_money(statement.opening), "closing_balance": format_money(statement.closing),
            "entries": [line.as_dict() for line in statement.lines],
        }, indent=2))  # fmt: skip
        return
    click.echo(f"{statement.person_ref}, account {statement.account}: opening balance {format_gbp(statement.opening)}")
    for line in statement.lines:
        e = line.entry
        mark = f" (reverses #{e.reverses_id})" if e.reverses_id else ""
        click.echo(f"{e.day.isoformat()}  #{e.pk:<6} {e.kind:<12} {format_gbp(line.value):>12} {format_gbp(line.balance):>13}  {e.source_ref}{mark}  {e.memo}")
    click.echo(f"closing balance {format_gbp(statement.closing)} ({len(statement.lines)} entries)")


@ledger_group.command("sync")
@click.argument("person_ref")
@COUNCIL
@click.option("--as-of", type=DATE, help="Bring the ledger up to the end of this day (default: today in London).")
def sync(person_ref: str, council_code: str | None, as_of) -> None:
    """Append what PERSON_REF's plan, visits and transactions say the ledger lacks (nothing if up to date)."""
    _setup()
    from careledger.ledger.services import ledger_sync
    from careledger.records.selectors import today_in_london

    person = _scope(council_code).person(person_ref)
    result = ledger_sync(person, as_of.date() if as_of else today_in_london())
    click.echo(f"{result.person_ref}: {result.added} entries added, {result.reversed} reversed, {result.unchanged} unchanged")


@ledger_group.command("check")
@COUNCIL
def check(council_code: str | None) -> None:
    """Recount every budget's ledger digest from its entries; exit 1 naming any budget whose kept digest differs."""
    _setup()
    from careledger.ledger.services import digests_check

    scope = _scope(council_code)
    differ = digests_check(council_id=scope.council.pk)
    if differ:
        click.echo(f"{len(differ)} budget(s) whose ledger digest differs from their entries: {', '.join(map(str, differ[:20]))}", err=True)
        click.echo("`careledger recompute` counts those from the entries; report it: something wrote around the sync.", err=True)
        sys.exit(1)
    click.echo("every budget's ledger digest agrees with its entries")


@ledger_group.command("assert")
@click.argument("person_ref")
@COUNCIL
@click.option("--account", required=True, help='The account the statement is for: a direct payment account ref, or "budget".')
@click.option("--date", "day", type=DATE, required=True, help="The statement's date: its closing balance at the end of it.")
@click.option("--balance", required=True, help="The statement's closing balance in pounds, e.g. 604.50 (negative if overdrawn).")
def assert_(person_ref: str, council_code: str | None, account: str, day, balance: str) -> None:
    """Check a statement's closing balance against the ledger and keep the result. Exit 1 if they differ."""
    amount = _money(balance, "balance")
    _setup()
    from careledger.domain import ledger as d
    from careledger.ledger.services import assert_balance

    found = assert_balance(scope=_scope(council_code), person_ref=person_ref, account=account, day=day.date(), balance=amount, source="cli")
    result = d.AssertionResult(d.BalanceAssertion(found.account, found.day, found.statement_balance), found.ledger_balance, found.difference)
    click.echo(f"assertion {found.pk}: {result.message}")
    if not result.ok:
        sys.exit(1)


@ledger_group.command("adjust")
@click.argument("person_ref")
@COUNCIL
@click.option("--date", "day", type=DATE, required=True, help="The day it applies to.")
@click.option("--amount", required=True, help="Pounds to the penny: positive adds to the balance, negative takes from it.")
@click.option("--kind", type=click.Choice(["refund", "adjustment"]), default="adjustment", show_default=True, help="A refund reduces spend; an adjustment never counts as spend.")
@click.option("--memo", required=True, help="Why (shown with the entry).")
@click.option("--source", "source_ref", required=True, help="What it is for, e.g. dispute:12; posting the same source again changes nothing.")
@click.option("--account", default="budget", show_default=True, help="The budget, or a direct payment account (e.g. its opening balance).")
def adjust(person_ref: str, council_code: str | None, day, amount: str, kind: str, memo: str, source_ref: str, account: str) -> None:
    """Post a refund or an adjustment to PERSON_REF's ledger (once per --source)."""
    value = _money(amount, "amount")
    _setup()
    from careledger.domain.money import format_gbp
    from careledger.ledger.services import post_adjustment

    entry = post_adjustment(
        scope=_scope(council_code), person_ref=person_ref, day=day.date(), amount=value, kind=kind, memo=memo, source_ref=source_ref, account=account
    )
    words = "posted" if entry.newly_posted else "already posted"
    click.echo(f"entry {entry.pk} {words}: {entry.kind} of {format_gbp(entry.amount)} on {entry.day.isoformat()} to {entry.account} ({entry.source_ref})")


# -- per-contract alert thresholds and the council's ineligible-spend policy --------------------


def _contract(council, ref: str):
    from careledger.records.errors import InvalidInput, NotFound
    from careledger.records.models import Contract

    found = Contract.objects.filter(council=council, ref=ref).first()
    if found is not None:
        return found
    by_provider = list(Contract.objects.filter(council=council, provider__ref=ref)[:2])
    if len(by_provider) == 1:
        return by_provider[0]
    if by_provider:
        raise InvalidInput(f"provider {ref!r} has several contracts: name one by its ref")
    raise NotFound(f"no contract or provider {ref!r} in council {council.code}")


@ledger_group.command("thresholds")
@click.argument("contract_ref")
@COUNCIL
@click.option("--set", "settings", multiple=True, metavar="NAME=VALUE", help="Change one threshold (repeatable), e.g. missed_per_week=3 or overspend_percent=2.5.")
@click.option("--reset", is_flag=True, help="Back to the defaults.")
def thresholds(contract_ref: str, council_code: str | None, settings: tuple[str, ...], reset: bool) -> None:
    """Show or tune when alerts fire for a contract (CONTRACT_REF, or a provider with one contract).

    Only the values that differ from the defaults are stored; each change is checked and audited.
    """
    _setup()
    from careledger.records.errors import InvalidInput
    from careledger.records.mapping import alert_thresholds_from_json, alert_thresholds_to_json

    council = _scope(council_code).council
    contract = _contract(council, contract_ref)
    stored = {} if reset else dict(contract.alert_thresholds or {})
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--set {item!r}: use NAME=VALUE")
        text = value.strip()
        stored[name.strip()] = None if text.lower() in ("none", "null", "off", "") else text
    effective = alert_thresholds_from_json(stored)  # refuses an unknown name or a bad value, saying which
    if settings or reset:
        defaults = alert_thresholds_to_json(alert_thresholds_from_json({}))
        contract.alert_thresholds = {k: v for k, v in alert_thresholds_to_json(effective).items() if v != defaults[k]}
        contract.save(update_fields=["alert_thresholds"])
    click.echo(json.dumps({"contract": contract.ref, "thresholds": alert_thresholds_to_json(effective), "overrides": contract.alert_thresholds}, indent=2))


@ledger_group.command("spend-policy")
@COUNCIL
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help='A JSON policy: {"categories": [...]}.')
@click.option("--reset", is_flag=True, help="Back to the default categories and keywords (domain.md).")
def spend_policy(council_code: str | None, file: Path | None, reset: bool) -> None:
    """Show or set the council's list of possibly ineligible direct payment spend (categories and keywords).

    Without options it prints the policy in force, as a file to edit and load back with --file.
    """
    _setup()
    from careledger.records.errors import InvalidInput
    from careledger.records.mapping import council_spend_policy, spend_policy_from_json, spend_policy_to_json

    council = _scope(council_code).council
    if file and reset:
        raise InvalidInput("use --file or --reset, not both")
    if file:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise InvalidInput(f"{file}: not JSON ({error})") from None
        spend_policy_from_json(data)  # refuses a bad policy, saying where
        council.spend_policy = data
        council.save(update_fields=["spend_policy"])
    elif reset:
        council.spend_policy = {}
        council.save(update_fields=["spend_policy"])
    click.echo(json.dumps(spend_policy_to_json(council_spend_policy(council)), indent=2))

