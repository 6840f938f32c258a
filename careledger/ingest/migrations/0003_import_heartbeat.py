"""Each import run's heartbeat: when it began or last committed a chunk (``ImportRun.state``)."""

import django.utils.timezone
from django.db import migrations, models
from django.db.models.functions import Coalesce


def from_what_is_known(apps, schema_editor):
    # A run from before this field last did something when it finished, or else when it began:
    # one that died long ago shows as interrupted at once, not 30 minutes after the upgrade.
    ImportRun = apps.get_model("ingest", "ImportRun")
    ImportRun.objects.update(heartbeat_at=Coalesce("finished_at", "started_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("ingest", "0002_start_offset_seconds"),
    ]

    operations = [
        migrations.AddField(
            model_name="importrun",
            name="heartbeat_at",
            field=models.DateTimeField(default=django.utils.timezone.now, help_text="When the run began or last committed a chunk"),
        ),
        migrations.RunPython(from_what_is_known, migrations.RunPython.noop),
    ]
