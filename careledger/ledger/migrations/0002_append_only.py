"""The database itself refuses to change or delete a ledger entry or a balance assertion.

As the audit trail does (``audit/migrations/0002_append_only.py``): triggers raise
on any UPDATE or DELETE of a row of ``ledger_ledgerentry`` or
``ledger_balanceassertion``, on PostgreSQL and SQLite alike. A correction is a
reversing entry. TRUNCATE (Django's test flush on PostgreSQL) is not refused.
"""

from django.db import migrations

TABLES = ("ledger_ledgerentry", "ledger_balanceassertion")

POSTGRESQL_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the ledger is append-only: % of % refused; post a reversing entry instead', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$
    """,
    *(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}" for table in TABLES),
    *(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
        for table in TABLES
    ),
]
POSTGRESQL_BACKWARD = [
    *(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}" for table in TABLES),
    "DROP FUNCTION IF EXISTS ledger_append_only()",
]
SQLITE_FORWARD = [
    statement
    for table in TABLES
    for statement in (
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: UPDATE of {table} refused; post a reversing entry instead'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: DELETE of {table} refused'); END",
    )
]
SQLITE_BACKWARD = [statement for table in TABLES for statement in (f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete")]
SQL = {"postgresql": (POSTGRESQL_FORWARD, POSTGRESQL_BACKWARD), "sqlite": (SQLITE_FORWARD, SQLITE_BACKWARD)}


def _run(schema_editor, statements) -> None:
    for statement in statements:
        schema_editor.execute(statement, params=None)


def forward(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in SQL:
        raise RuntimeError(f"careledger's ledger supports PostgreSQL and SQLite, not {vendor}")
    _run(schema_editor, SQL[vendor][0])


def backward(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor in SQL:
        _run(schema_editor, SQL[vendor][1])


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
