"""`careledger import ...`: visits, carers and transactions from files; `careledger recompute`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

SHOWN = 20  # rejections printed; all are kept with the run


@click.group("import")
def import_group() -> None:
    """Import delivery data files (docs/formats.md sections 3 and 4).

    Good rows are applied and rejected ones kept with the import run, each with
    its file, line, field and reason; the command exits 1 if any row was rejected.
    Importing the same file again changes nothing; a row with a known ref and new
    content is an amendment (the earlier version is kept).
    """


def _scope(council_code: str | None, provider_ref: str | None):
    from careledger.records import selectors
    from careledger.records.errors import NotFound
    from careledger.records.models import Provider
    from careledger.records.scoping import Scope

    council = selectors.council_resolve(council_code)
    if not provider_ref:
        return Scope.system(council)
    provider = Provider.objects.filter(council=council, ref=provider_ref).first()
    if provider is None:
        raise NotFound(f"no provider {provider_ref!r} in council {council.code}")
    return Scope(council, "cli", provider_ids=frozenset({provider.pk}), can_write_delivery=True)


def _run_import(kind: str, file: Path, council_code: str | None, provider_ref: str | None, all_or_nothing: bool, as_json: bool, chunk_rows: int) -> None:
    from .main import setup_django

    setup_django()
    from tqdm import tqdm

    from careledger.ingest import services

    scope = _scope(council_code, provider_ref)
    size = file.stat().st_size
    bar = tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=file.name, file=sys.stderr, disable=None, leave=False)
    seen = 0

    def progress(read: int) -> None:
        nonlocal seen
        bar.update(read - seen)
        seen = read

    with file.open("rb") as stream, bar:
        summary = services.import_file(
            scope=scope, kind=kind, stream=stream, source=str(file), all_or_nothing=all_or_nothing, on_progress=progress, chunk_rows=chunk_rows
        )
    run = summary.run
    if as_json:
        click.echo(json.dumps(_run_dict(run) | {"rejections": [r.as_dict() for r in summary.rejections]}))
    else:
        click.echo(_describe(run))
        for rejection in summary.rejections[:SHOWN]:
            click.echo(f"  {rejection}", err=True)
        more = max(0, _rejection_count(run) - SHOWN)
        if more:
            click.echo(f"  ... and {more} more: `careledger import rejections {run.pk}` lists them all", err=True)
    if not summary.ok:
        sys.exit(1)


def _rejection_count(run) -> int:
    return run.rejections.count()


def _run_dict(run) -> dict:
    return {
        "run": run.pk,
        "kind": run.kind,
        "source": run.source,
        "status": run.status,
        "rows": run.rows,
        "added": run.added,
        "amended": run.amended,
        "duplicates": run.duplicates,
        "rejected": run.rejected,
        "file_sha256": run.file_sha256,
    }


def _describe(run) -> str:
    if run.status == "refused":
        return (
            f"{run.source}: refused, nothing applied (--all-or-nothing): {run.rejected:,} of {run.rows:,} rows rejected "
            f"(kept with import run {run.pk})"
        )
    return (
        f"{run.source}: {run.rows:,} rows: {run.added:,} added, {run.amended:,} amended, {run.duplicates:,} already there, "
        f"{run.rejected:,} rejected (import run {run.pk})"
    )


def _command(kind: str, help_text: str):
    @import_group.command(kind, help=help_text)
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--council", "council_code", metavar="CODE", help="The council (may be left out when there is only one).")
    @click.option("--provider", "provider_ref", metavar="REF", help="Import as this provider: rows for anyone else's clients are rejected.")
    @click.option("--all-or-nothing", is_flag=True, help="Apply nothing if any row is bad.")
    @click.option("--json", "as_json", is_flag=True, help="Print the run and its rejections as JSON.")
    @click.option("--chunk-rows", default=20_000, show_default=True, type=click.IntRange(1, 1_000_000), help="Rows written per transaction.")
    def command(file: Path, council_code, provider_ref, all_or_nothing, as_json, chunk_rows) -> None:
        _run_import(kind, file, council_code, provider_ref, all_or_nothing, as_json, chunk_rows)

    return command


_command("visits", "Import a visits CSV FILE (visit_ref, person_ref, provider_ref, service_ref, carer_ref, planned_start, ...).")
_command("carers", "Import a carers CSV FILE (carer_ref, provider_ref, gender).")
_command("transactions", "Import account transactions FILE: CSV (txn_ref, account_ref, date, amount, ...) or an OFX statement (.ofx/.qfx).")


@import_group.command("rejections")
@click.argument("run_id", type=int)
@click.option("--council", "council_code", metavar="CODE", help="The council (may be left out when there is only one).")
def import_rejections(run_id: int, council_code: str | None) -> None:
    """List every rejected row of import run RUN_ID as CSV (source, line, field, reason, raw)."""
    from .main import setup_django

    setup_django()
    import csv

    from careledger.ingest.models import ImportRun
    from careledger.records import selectors
    from careledger.records.errors import NotFound

    council = selectors.council_resolve(council_code)
    run = ImportRun.objects.filter(council=council, pk=run_id).first()
    if run is None:
        raise NotFound(f"no import run {run_id} in council {council.code}")
    writer = csv.writer(sys.stdout)
    writer.writerow(["source", "line", "field", "reason", "raw"])
    for r in run.rejections.order_by("line", "id").iterator():
        writer.writerow([run.source, r.line, r.field, r.reason, r.raw])


@click.command("recompute")
@click.option("--council", "council_code", metavar="CODE", help="The council (may be left out when there is only one).")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Judge every package at this date (default: today in London).")
@click.option("--only-stale", is_flag=True, help="Only packages with new data or a new plan since their status was computed.")
@click.option("--workers", type=click.IntRange(1, 64), help="Processes computing statuses (default: one per core, up to 8).")
@click.option("--count-ledgers", is_flag=True, help="Judge each ledger by counting its entries, not by its kept digest (slower).")
def recompute(council_code: str | None, as_of, only_stale: bool, workers: int | None, count_ledgers: bool) -> None:
    """Rebuild a council's running figures from the stored rows, then every package's status and alerts."""
    import time
    from datetime import datetime

    from .main import setup_django

    setup_django()
    from careledger.domain.localtime import LONDON
    from careledger.ingest import services
    from careledger.monitoring import services as monitoring
    from careledger.records import selectors
    from careledger.records.scoping import Scope

    council = selectors.council_resolve(council_code)
    before = services.stored_figures(council_id=council.pk)
    people = services.recompute_figures(council_id=council.pk)
    after = services.stored_figures(council_id=council.pk)
    differed = sorted(pid for pid in set(before) | set(after) if before.get(pid) != after.get(pid))
    click.echo(f"council {council.code}: figures rebuilt for {people:,} people; {len(differed)} differed from the running totals")
    day = as_of.date() if as_of else datetime.now(LONDON).date()
    began = time.perf_counter()
    result = monitoring.recompute_statuses(scope=Scope.system(council), as_of=day, only_stale=only_stale, workers=workers, count_ledgers=count_ledgers)
    counts = result.counts or {}
    click.echo(
        f"statuses as at {day.isoformat()}: {result.packages:,} packages in {time.perf_counter() - began:.1f} s; "
        f"{counts.get('alerts', 0):,} new alerts; {counts.get('synced', 0):,} ledgers brought in step ({counts.get('appended', 0):,} entries appended)"
    )
    for ref, why in sorted(result.failed.items())[:20]:
        click.echo(f"  {ref}: {why}", err=True)


@click.command("status")
@click.argument("person_ref")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="The date to judge the package at (default: today in London).")
@click.option("--council", "council_code", metavar="CODE", help="The council (may be left out when there is only one).")
@click.option("--json", "as_json", is_flag=True, help="Print the docs/formats.md section 6 JSON.")
@click.option("--raise-alerts/--no-raise-alerts", default=True, show_default=True, help="Store alerts not raised before.")
def status(person_ref: str, as_of, council_code: str | None, as_json: bool, raise_alerts: bool) -> None:
    """Is PERSON_REF's care plan followed, affordable and working? With the alerts it raises."""
    from .main import setup_django

    setup_django()
    from careledger.domain.localtime import LONDON
    from careledger.monitoring import services
    from careledger.records import selectors
    from careledger.records.scoping import Scope

    council = selectors.council_resolve(council_code)
    from datetime import datetime

    day = as_of.date() if as_of else datetime.now(LONDON).date()
    from careledger.monitoring import batch

    view = batch.status_of(scope=Scope.system(council), person_ref=person_ref, as_of=day)
    new = services.alerts_raise(view) if raise_alerts else []
    if as_json:
        click.echo(json.dumps(view.status))
        return
    s = view.status
    f, a, w = s["followed"], s["affordable"], s["working"]
    words = {"green": "GREEN", "amber": "AMBER", "red": "RED"}
    click.echo(f"{s['person_ref']} as at {s['as_of']}")
    click.echo(
        f"  Followed?   {words[f['rag']]:5}  {f['delivered']} of {f['scheduled']} visits delivered; {f['missed']} missed, {f['late']} late, "
        f"{f['short']} short, {f['unplanned']} unplanned, {f['preference_breaches']} preference breaches; "
        f"{f['delivered_hours']} of {f['planned_hours']} hours"
    )
    click.echo(
        f"  Affordable? {words[a['rag']]:5}  spent £{a['spent']} of £{a['budget']} (pro rata £{a['pro_rata_budget']}); "
        f"forecast £{a['forecast_year_end']} ({a['forecast_variance']} against budget)"
    )
    click.echo(
        f"  Working?    {words[w['rag']]:5}  {w['outcomes']} outcomes; next review due {w['next_review_due']}"
        f"{' (OVERDUE)' if w['review_overdue'] else ''}"
    )
    for alert in view.alerts:
        mark = "new " if any(n.cause == alert.cause for n in new) else ""
        click.echo(f"  [{alert.severity}] {mark}{alert.message}")
