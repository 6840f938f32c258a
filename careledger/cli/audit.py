"""`careledger audit`: check the audit trail's chain, and read it."""

from __future__ import annotations

import json
import sys

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def audit() -> None:
    """The audit trail: every change, sign-in, export and token use, hash-chained."""


@audit.command("verify")
def audit_verify() -> None:
    """Check that no entry was changed or deleted. Exit 0 if none was; 1, naming the first, if one was."""
    from careledger.cli.main import setup_django

    setup_django()
    from careledger.audit.verify import chain_head, verify_chain

    result = verify_chain()
    if result.ok:
        seq, digest = chain_head()
        click.echo(f"audit trail verified: {result.checked} entries")
        # Keeping this line somewhere else (a ticket, an email) anchors the chain against a full rewrite.
        click.echo(f"head: entry #{seq} sha256 {digest}")
        return
    click.echo(f"audit trail BROKEN at entry #{result.broken_seq}: {result.reason}", err=True)
    click.echo(f"({result.checked} entries before it verified)", err=True)
    sys.exit(1)


@audit.command("list")
@click.option("--council", "council_code", metavar="CODE", help="Only this council's entries (default: every entry, sign-ins too).")
@click.option("--action", help="Only this action, e.g. update, delete, sign_in, export, token_use.")
@click.option("--actor", help="Only this actor, e.g. user:12, token:3, cli.")
@click.option("--model", help="Only this kind of record, e.g. records.person.")
@click.option("--object", "object_id", metavar="ID", help="Only this record id (with --model).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1), help="How many of the newest entries.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, with the record before and after.")
def audit_list(council_code: str | None, action: str | None, actor: str | None, model: str | None, object_id: str | None, limit: int, as_json: bool) -> None:
    """List the newest entries, newest first (times in Europe/London)."""
    from careledger.cli.main import setup_django

    setup_django()
    from django.apps import apps

    from careledger.audit.selectors import all_audit_entries, audit_entries
    from careledger.domain.localtime import to_local

    filters = {"action": action, "actor": actor, "model": model, "object_id": object_id}
    if council_code:
        council = apps.get_model("records", "Council").objects.filter(code=council_code.strip().upper()).first()
        if council is None:
            raise click.ClickException(f"no council {council_code!r}")
        entries = audit_entries(council_id=council.pk, **filters)
    else:
        entries = all_audit_entries(**filters)
    for entry in entries[:limit]:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "seq": entry.seq,
                        "at": entry.at.isoformat(),
                        "actor": entry.actor,
                        "action": entry.action,
                        "model": entry.model,
                        "object_id": entry.object_id,
                        "council_id": entry.council_id,
                        "before": entry.before,
                        "after": entry.after,
                        "prev_hash": entry.prev_hash,
                        "hash": entry.hash,
                    },
                    sort_keys=True,
                )
            )
        else:
            when = to_local(entry.at).strftime("%Y-%m-%d %H:%M:%S %Z")
            click.echo(f"#{entry.seq:<7} {when}  {entry.actor:<14} {entry.action:<15} {entry.model or '-'} {entry.object_id}".rstrip())
