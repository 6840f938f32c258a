"""Each visit's check-in minus planned start, in whole seconds (``domain.tally.start_offset_seconds``).

The recompute's query (``monitoring.batch``) judges lateness and whole-second times from it by
comparing integers; before, it parsed three stored times per visit. Visits already stored are
filled in by one UPDATE per table; a visit left without it (not whole seconds) is judged one by one.
"""

from django.db import migrations, models


def _fill(apps, schema_editor):
    connection = schema_editor.connection
    for model in ("Visit", "VisitRevision"):
        table = apps.get_model("ingest", model)._meta.db_table
        if connection.vendor == "sqlite":  # naive UTC text, 19 characters when the seconds are whole
            sql = (
                f"UPDATE {table} SET start_offset_seconds = CAST(strftime('%s', actual_start) AS INTEGER) - CAST(strftime('%s', planned_start) AS INTEGER) "
                "WHERE actual_start IS NOT NULL AND actual_end IS NOT NULL AND length(planned_start) = 19 AND length(actual_start) = 19 AND length(actual_end) = 19"
            )
        else:
            sql = (
                f"UPDATE {table} SET start_offset_seconds = CAST(EXTRACT(EPOCH FROM actual_start - planned_start) AS BIGINT) "
                "WHERE actual_start IS NOT NULL AND actual_end IS NOT NULL AND planned_start = date_trunc('second', planned_start) "
                "AND actual_start = date_trunc('second', actual_start) AND actual_end = date_trunc('second', actual_end)"
            )
        with connection.cursor() as cursor:
            cursor.execute(sql)  # (no parameters: the % of strftime goes through as it is)


class Migration(migrations.Migration):
    dependencies = [("ingest", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="visit",
            name="start_offset_seconds",
            field=models.IntegerField(
                blank=True, null=True,
                help_text="Check-in minus planned start, in seconds (negative when early); set only when the planned start, check-in "
                "and check-out are all whole seconds, so that the recompute's query judges lateness by integers",
            ),
        ),
        migrations.AddField(model_name="visitrevision", name="start_offset_seconds", field=models.IntegerField(blank=True, null=True)),
        migrations.RunPython(_fill, migrations.RunPython.noop),
    ]
