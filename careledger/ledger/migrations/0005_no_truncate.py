"""PostgreSQL also refuses TRUNCATE of the ledger's append-only tables.

The row triggers of ``0002_append_only`` refuse UPDATE and DELETE, but TRUNCATE fires no
row trigger, so one statement could empty the ledger. A statement trigger now refuses it
too, unless the session has said ``SET careledger.allow_truncate = 'on'``: the test suite
does (Django's test flush empties every table with TRUNCATE); the application never does.
As with the other triggers, the database owner can still drop it: the point is that no
ordinary statement, by mistake or by a tool, empties a ledger. SQLite has no TRUNCATE (its
``DELETE FROM`` without WHERE is refused by the row triggers already).
"""

from django.db import migrations

TABLES = ("ledger_ledgerentry", "ledger_balanceassertion")

POSTGRESQL_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION ledger_no_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF current_setting('careledger.allow_truncate', true) = 'on' THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION 'the ledger is append-only: TRUNCATE of % refused', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$
    """,
    *(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}" for table in TABLES),
    *(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION ledger_no_truncate()" for table in TABLES),
]
POSTGRESQL_BACKWARD = [
    *(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}" for table in TABLES),
    "DROP FUNCTION IF EXISTS ledger_no_truncate()",
]


def forward(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRESQL_FORWARD:
            schema_editor.execute(statement, params=None)


def backward(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRESQL_BACKWARD:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_refunds_index")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
