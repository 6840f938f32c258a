"""PostgreSQL also refuses TRUNCATE of the audit trail (as ``ledger/migrations/0005_no_truncate``).

The row triggers of ``0002_append_only`` refuse UPDATE and DELETE; TRUNCATE fires no row
trigger. A statement trigger now refuses it unless the session has said
``SET careledger.allow_truncate = 'on'`` (the test suite's flush does; the application never).
"""

from django.db import migrations

POSTGRESQL_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION audit_entry_no_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF current_setting('careledger.allow_truncate', true) = 'on' THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION 'audit entries are append-only: TRUNCATE refused'
            USING ERRCODE = 'insufficient_privilege';
    END;
    $$
    """,
    "DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_auditentry",
    "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_auditentry FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_no_truncate()",
]
POSTGRESQL_BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_auditentry",
    "DROP FUNCTION IF EXISTS audit_entry_no_truncate()",
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
    dependencies = [("audit", "0002_append_only")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
