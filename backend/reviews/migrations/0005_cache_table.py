"""The database cache's table (``CACHES``, ``common.cache``), created with ``migrate`` so that
every deployment, the demo and the tests have it without a separate ``createcachetable`` step."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0004_assignment_is_third_reading")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop, elidable=False)]
