"""PostgreSQL only: the sampling population's keys in the population hash's order, without a sort.

A B-tree on (AI system, source key in the "C" collation, that is bytewise: the hash's order),
holding the other columns the population's filters read (exam date, site, patient pseudonym for
the opt-out register, id for the cases already drawn), limited to the cases that can be sampled at
all (not opted out, no blinding flag: the same two conditions, written the same way, as
``reviews.sampling.population_for``, so that the planner drops them). The population hash then
reads it in order, range by range, as an index-only scan (reviews.sampling.population_blocks).

SQLite sorts in its default BINARY collation, which is already bytewise: nothing to do there. The
index is not declared on the model (its "C" collation is PostgreSQL's: SQLite has none of that
name and would refuse it), so it lives in this migration only.
"""

from django.db import migrations

INDEX = "case_population_key_order"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON cases_case "
        '(ai_system_id, source_key COLLATE "C") INCLUDE (exam_date, site, patient_pseudonym, id) '
        "WHERE NOT is_opted_out AND blinding_flags = '[]'::jsonb")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0006_ai_system_public_profile"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
