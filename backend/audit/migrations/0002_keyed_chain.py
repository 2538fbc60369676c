"""Keyed audit chain in lanes, and triggers that keep the trail append-only.

Existing events become the beginning of lane 1, in id order (``seq`` 1..n), with an empty key id:
they keep their unkeyed SHA-256 and the verifier accepts them as far as a signed checkpoint has
sealed lane 1. The first keyed event links to the last of them, so from then on the key protects
them too. Run ``manage.py anchor_audit`` right after this migration.

Triggers, on PostgreSQL: UPDATE and DELETE of an audit event are refused, a lane head may only
advance by one event, and heads cannot be deleted. TRUNCATE is not blocked on purpose: Django's
test runner empties tables with TRUNCATE between transactional tests, and a privileged user can
always disable triggers anyway; an emptied or cut trail is caught by the signed checkpoints kept
outside the database. On SQLite the same UPDATE triggers are installed, but not the DELETE ones,
because the test runner empties SQLite tables with DELETE. SQLite rebuilds a table (and drops its
triggers) when a later migration alters it: such a migration must install them again.
"""

from django.db import migrations, models

EVENT_TABLE = "audit_auditevent"
HEAD_TABLE = "audit_chainhead"

NUMBER_LEGACY_EVENTS = f"""
UPDATE {EVENT_TABLE} SET seq = numbered.rn
FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM {EVENT_TABLE}) AS numbered
WHERE {EVENT_TABLE}.id = numbered.id
"""

POSTGRES_INSTALL = [
    """
    CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
    END $$
    """,
    f"""
    CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON {EVENT_TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change()
    """,
    """
    CREATE OR REPLACE FUNCTION audit_head_advance_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'audit lane heads cannot be deleted' USING ERRCODE = 'restrict_violation';
        END IF;
        IF NEW.id <> OLD.id OR NEW.count <> OLD.count + 1 THEN
            RAISE EXCEPTION 'an audit lane head only advances by one event' USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
    f"""
    CREATE TRIGGER audit_head_advance_only BEFORE UPDATE OR DELETE ON {HEAD_TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_head_advance_only()
    """,
]
POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS audit_event_append_only ON {EVENT_TABLE}",
    f"DROP TRIGGER IF EXISTS audit_head_advance_only ON {HEAD_TABLE}",
    "DROP FUNCTION IF EXISTS audit_event_refuse_change()",
    "DROP FUNCTION IF EXISTS audit_head_advance_only()",
]
SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER audit_event_append_only BEFORE UPDATE ON {EVENT_TABLE}
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END
    """,
    f"""
    CREATE TRIGGER audit_head_advance_only BEFORE UPDATE ON {HEAD_TABLE}
    WHEN NEW.id <> OLD.id OR NEW.count <> OLD.count + 1
    BEGIN SELECT RAISE(ABORT, 'an audit lane head only advances by one event'); END
    """,
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS audit_event_append_only",
    "DROP TRIGGER IF EXISTS audit_head_advance_only",
]


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement, params=None)


def number_legacy_events(apps, schema_editor):
    schema_editor.execute(NUMBER_LEGACY_EVENTS, params=None)


def install_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRES_INSTALL)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_INSTALL)


def remove_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, POSTGRES_REMOVE)
    elif vendor == "sqlite":
        _run(schema_editor, SQLITE_REMOVE)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditevent',
            name='lane',
            field=models.PositiveSmallIntegerField(default=1, verbose_name='lane'),
        ),
        migrations.AddField(
            model_name='auditevent',
            name='seq',
            field=models.PositiveBigIntegerField(default=0, verbose_name='position in lane'),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='auditevent',
            name='key_id',
            field=models.CharField(blank=True, default='', max_length=32, verbose_name='key id'),
        ),
        migrations.RunPython(number_legacy_events, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='auditevent',
            constraint=models.UniqueConstraint(fields=('lane', 'seq'), name='audit_event_one_per_lane_position'),
        ),
        migrations.RemoveConstraint(
            model_name='chainhead',
            name='audit_chain_head_singleton',
        ),
        migrations.AddConstraint(
            model_name='chainhead',
            constraint=models.CheckConstraint(condition=models.Q(('id__gte', 1)), name='audit_chain_head_lane_number'),
        ),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
