# Key rotation: the key id beside the clinician pseudonym, and the same clinician's pseudonyms
# under retired keys (matching only).
from django.conf import settings
from django.db import migrations, models


def set_key_id(apps, schema_editor):
    # Every pseudonym stored so far was made with the configured key.
    User = apps.get_model("accounts", "User")
    User.objects.exclude(clinician_pseudonym="").update(clinician_key_id=settings.PSEUDONYM_KEY_ID)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_security'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='clinician_key_id',
            field=models.CharField(blank=True, max_length=20, verbose_name='clinician pseudonym key id'),
        ),
        migrations.AddField(
            model_name='user',
            name='clinician_retired_pseudonyms',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(set_key_id, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='user',
            constraint=models.CheckConstraint(
                condition=models.Q(('clinician_pseudonym', ''), models.Q(('clinician_key_id', ''), _negated=True),
                                   _connector='OR'),
                name='user_clinician_pseudonym_has_key_id'),
        ),
    ]
