"""`careledger` commands. Each parses its arguments and calls a service or selector.

Exit codes: 0 done; 1 refused (bad file, unknown record; the reason is printed);
2 usage error (click's).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path

import click

from careledger.domain.costing import cost_plan
from careledger.formats.plan_cost import plan_cost_dict, plan_cost_text
from careledger.formats.plan_file import PlanFileError, dump_plan, parse_plan


def setup_django(*, require_migrated: bool = True) -> None:
    """Configure Django on first use: only commands that touch the database pay for it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careledger.config.settings")
    os.environ.setdefault("CARELEDGER_LOG_LEVEL", "WARNING")  # a command says what it did itself
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as error:
        raise click.ClickException(f"configuration: {error}") from None
    from careledger.audit.context import set_actor

    set_actor("cli")  # what the operator does at the command line is in the audit trail as "cli"
    if require_migrated:
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise click.ClickException("the database is not set up or not up to date: run `careledger migrate` first")


def _fail_plan(error: PlanFileError) -> None:
    click.echo(f"{error.source}: refused, nothing was written. {len(error.problems)} problem(s):", err=True)
    for problem in error.problems:
        click.echo(f"  {problem.path}: {problem.reason}", err=True)
    sys.exit(1)


class RecordErrors(click.Group):
    """Turns the services' errors into a one-line message and exit code 1."""

    def invoke(self, ctx: click.Context):
        from careledger.records.errors import RecordError

        try:
            return super().invoke(ctx)
        except PlanFileError as error:
            _fail_plan(error)
        except RecordError as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=RecordErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="careledger")
def cli() -> None:
    """careledger: is each care plan followed, affordable and working?

    Configuration comes from the environment: DATABASE_URL (default: a SQLite file
    in ./var), CARELEDGER_DATA_DIR, CARELEDGER_SECRET_KEY. See the README.
    """


# -- plans -------------------------------------------------------------------------------------


@cli.group()
def plan() -> None:
    """Cost, import and export care plan files (careledger/plan@1)."""


@plan.command("cost")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the formats.md section 2 JSON.")
def plan_cost(file: Path, as_json: bool) -> None:
    """Cost a plan FILE against its budget. Needs no database.

    Weekly figures are at standard rates; the period cost prices every scheduled
    visit at its own (standard, weekend or bank-holiday) rate.
    """
    try:
        plan = parse_plan(file.read_bytes(), source=str(file))
    except PlanFileError as error:
        _fail_plan(error)
    cost = cost_plan(plan)
    if as_json:
        click.echo(json.dumps(plan_cost_dict(cost)))
    else:
        click.echo(plan_cost_text(cost, title=f"Plan for {plan.person.ref} ({plan.budget.start_date} to {plan.budget.end_date})"))


@plan.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--council", "council_code", metavar="CODE", help="The council (may be left out when there is only one).")
@click.option("--effective-from", type=click.DateTime(["%Y-%m-%d"]), help="Date a changed plan takes effect (default: today).")
def plan_import(file: Path, council_code: str | None, effective_from) -> None:
    """Import a plan FILE: a new person and plan, or a new version of their plan.

    Importing the same file again changes nothing. Every problem is listed with its
    JSON path, and nothing is written unless there are none.
    """
    setup_django()
    from careledger.records import selectors, services
    from careledger.records.scoping import Scope

    council = selectors.council_resolve(council_code)
    result = services.plan_import(
        scope=Scope.system(council),
        raw=file.read_bytes(),
        source=str(file),
        effective_from=effective_from.date() if effective_from else None,
    )
    words = {"created": "imported as version", "changed": "changed: new version", "unchanged": "unchanged: still version"}
    click.echo(f"{result.person_ref}: {words[result.outcome]} {result.version_number}, in force from {result.effective_from.isoformat()}")


@plan.command("export")
@click.argument("person_ref")
@click.option("--council", "council_code", metavar="CODE", help="The council (may be left out when there is only one).")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="The version in force on this date (default: the latest).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), help="Write to a file instead of standard output.")
def plan_export(person_ref: str, council_code: str | None, as_of, output: Path | None) -> None:
    """Export PERSON_REF's plan as a careledger/plan@1 file."""
    setup_django()
    from careledger.records import selectors, services
    from careledger.records.scoping import Scope

    council = selectors.council_resolve(council_code)
    plan = services.plan_export(scope=Scope.system(council), person_ref=person_ref, as_of=as_of.date() if as_of else None)
    text = dump_plan(plan)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"written to {output}", err=True)
    else:
        click.echo(text, nl=False)


# -- councils and providers --------------------------------------------------------------------


@cli.group()
def council() -> None:
    """Councils: the tenants every record belongs to."""


@council.command("add")
@click.argument("code")
@click.argument("name")
def council_add(code: str, name: str) -> None:
    """Add a council with a short CODE (e.g. NOR) and its NAME."""
    setup_django()
    from careledger.records import services

    created = services.council_create(code=code, name=name)
    click.echo(f"council {created.code} added: {created.name}")


@cli.group()
def provider() -> None:
    """Care providers registered with a council."""


@provider.command("add")
@click.argument("ref")
@click.argument("name")
@click.option("--council", "council_code", metavar="CODE", help="The council (may be left out when there is only one).")
def provider_add(ref: str, name: str, council_code: str | None) -> None:
    """Register provider REF called NAME with a council, on default contract terms."""
    setup_django()
    from careledger.records import selectors, services
    from careledger.records.scoping import Scope

    found = selectors.council_resolve(council_code)
    created = services.provider_create(scope=Scope.system(found), ref=ref, name=name)
    click.echo(f"provider {created.ref} registered with council {found.code}: {created.name}")


@provider.command("metrics")
@click.option("--council", "council_code", metavar="CODE", help="The council (may be left out when there is only one).")
@click.option("--provider", "provider_ref", metavar="REF", help="Only this provider.")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="The last day counted (default: today in London).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="The first day counted (default: 27 days before --as-of).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, rates as exact fractions.")
def provider_metrics(council_code: str | None, provider_ref: str | None, as_of, since, as_json: bool) -> None:
    """Each provider's visits delivered, on time and missed, carer continuity, packages and open alerts."""
    setup_django()
    from careledger.monitoring.selectors import provider_metrics as metrics
    from careledger.records import selectors
    from careledger.records.scoping import Scope

    found = selectors.council_resolve(council_code)
    day = as_of.date() if as_of else selectors.today_in_london()
    rows = [m.as_dict() for m in metrics(scope=Scope.system(found), as_of=day, since=since.date() if since else None, provider_ref=provider_ref)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        on_time = f"{r['on_time_percent']}%" if r["on_time_percent"] is not None else "-"
        missed = f"{r['missed_percent']}%" if r["missed_percent"] is not None else "-"
        click.echo(
            f"{r['provider_ref']}  {r['since']} to {r['as_of']}: {r['delivered']} of {r['scheduled']} visits delivered, {on_time} on time, "
            f"{missed} missed; median {r['continuity_median_carers'] or '-'} carers a person (4 weeks); "
            f"{r['packages']} packages, {r['open_alerts']} open alerts"
        )


# -- access -----------------------------------------------------------------------------------


@cli.group()
def token() -> None:
    """API tokens for provider and council systems."""


@token.command("create")
@click.argument("name")
@click.option("--council", "council_code", metavar="CODE", help="The council (may be left out when there is only one).")
@click.option("--provider", "provider_ref", metavar="REF", help="Limit the token to one provider's packages.")
@click.option("--access", type=click.Choice(["read", "write"]), default="read", show_default=True)
@click.option("--require-signature", is_flag=True, help="Refuse pushes not signed (HMAC-SHA256) with the token's signing key.")
def token_create(name: str, council_code: str | None, provider_ref: str | None, access: str, require_signature: bool) -> None:
    """Make a token called NAME. The secret is printed once; only its hash is kept.

    The signing key for signed pushes is printed with it (to standard error).
    """
    setup_django()
    from careledger.access import services as access_services
    from careledger.records import selectors
    from careledger.records.scoping import Scope

    found = selectors.council_resolve(council_code)
    new = access_services.token_create(scope=Scope.system(found), name=name, access=access, provider_ref=provider_ref, require_signature=require_signature)
    click.echo(f"token {new.token.pk} ({access}, {'provider ' + provider_ref if provider_ref else 'council-wide'}) for council {found.code}.")
    click.echo("Secret (shown once, keep it safe):", err=True)
    click.echo(new.secret)
    click.echo(f"Signing key for X-Careledger-Signature ({'required' if require_signature else 'optional'}): {new.signing_key}", err=True)


@token.command("revoke")
@click.argument("token_id", type=int)
@click.option("--council", "council_code", metavar="CODE", help="The council (may be left out when there is only one).")
def token_revoke(token_id: int, council_code: str | None) -> None:
    """Revoke token TOKEN_ID at once."""
    setup_django()
    from careledger.access import services as access_services
    from careledger.records import selectors
    from careledger.records.scoping import Scope

    found = selectors.council_resolve(council_code)
    access_services.token_revoke(scope=Scope.system(found), token_id=token_id)
    click.echo(f"token {token_id} revoked")


@cli.group()
def user() -> None:
    """Accounts and their roles in councils."""


@user.command("grant")
@click.argument("username")
@click.argument("role", type=click.Choice(["council_admin", "commissioner", "finance", "auditor", "provider", "person", "representative"]))
@click.option("--council", "council_code", metavar="CODE", help="The council (may be left out when there is only one).")
@click.option("--provider", "provider_ref", metavar="REF", help="For a provider manager: which provider.")
@click.option("--person", "person_ref", metavar="REF", help="For a person or representative: whose records.")
def user_grant(username: str, role: str, council_code: str | None, provider_ref: str | None, person_ref: str | None) -> None:
    """Give USERNAME a ROLE in a council (create the account first: careledger manage createsuperuser/ changepassword, or the admin)."""
    setup_django()
    from careledger.access import services as access_services
    from careledger.records import selectors

    found = selectors.council_resolve(council_code)
    access_services.membership_grant(council=found, username=username, role=role, provider_ref=provider_ref, person_ref=person_ref)
    click.echo(f"{username} is now {role} in council {found.code}")


# -- running it --------------------------------------------------------------------------------


@cli.command()
def migrate() -> None:
    """Create or update the database tables."""
    setup_django(require_migrated=False)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)
    call_command("createcachetable", verbosity=1)  # the shared cache's table, when CARELEDGER_CACHE_URL=database (else nothing)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
def serve(host: str, port: int, threads: int) -> None:
    """Serve the web pages and the API (waitress)."""
    setup_django()
    _serve(host, port, threads)


def _serve(host: str, port: int, threads: int) -> None:
    from waitress import serve as waitress_serve

    from careledger.config.wsgi import application

    options: dict = {}
    proxy = os.environ.get("CARELEDGER_TRUSTED_PROXY")
    if proxy:
        # Behind a TLS proxy: believe its X-Forwarded-Proto/For, and only its.
        options = {"trusted_proxy": proxy, "trusted_proxy_headers": {"x-forwarded-proto", "x-forwarded-for"}, "clear_untrusted_proxy_headers": True}
    click.echo(f"careledger is serving on http://{host}:{port}/  (Ctrl+C stops it)")
    waitress_serve(application, host=host, port=port, threads=threads, ident="careledger", **options)


@cli.command()
@click.option("--seed", default=2026, show_default=True, type=int, help="Same seed, same data.")
@click.option("--people", default=300, show_default=True, type=int, help="How many people in the demo council.")
@click.option("--serve/--no-serve", "then_serve", default=True, show_default=True, help="Start the server afterwards.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def demo(seed: int, people: int, then_serve: bool, host: str, port: int) -> None:
    """Build a synthetic demo council (Mary among its people) and serve it.

    Running it again changes nothing that is already there.
    """
    setup_django(require_migrated=False)
    from django.core.management import call_command

    from careledger.demo.build import build_demo

    call_command("migrate", interactive=False, verbosity=0)
    summary = build_demo(seed=seed, people=people, progress=lambda msg: click.echo(msg, err=True))
    click.echo(summary.describe(f"http://{host}:{port}/"))
    if then_serve:
        _serve(host, port, 8)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(args: tuple[str, ...]) -> None:
    """Run a Django management command (e.g. `careledger manage createsuperuser`)."""
    setup_django(require_migrated=False)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["careledger manage", *args])


from careledger.cli.audit import audit as _audit  # noqa: E402  (a group of its own module)

cli.add_command(_audit)

from careledger.cli.ingest import import_group as _import_group, recompute as _recompute, status as _status  # noqa: E402

cli.add_command(_import_group)
cli.add_command(_recompute)
cli.add_command(_status)

from careledger.cli.ledger import ledger_group as _ledger_group  # noqa: E402
from careledger.cli.outcomes import outcomes_group as _outcomes_group  # noqa: E402

cli.add_command(_ledger_group)
cli.add_command(_outcomes_group)


def main() -> None:  # pragma: no cover - console entry point
    cli()
