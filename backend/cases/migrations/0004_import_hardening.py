# Import hardening: the ``interrupted`` status (a batch left queued or running by a dead worker)
# and the name of the uploaded file still on disk, so that recovery can delete it.
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0003_case_blinding_review'),
    ]

    operations = [
        migrations.AddField(
            model_name='importbatch',
            name='stored_file',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='importbatch',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('completed', 'Completed'), ('validated', 'Validated (dry run, nothing written)'), ('rejected', 'Rejected'), ('failed', 'Failed (nothing written)'), ('interrupted', 'Interrupted (worker stopped, nothing written)')], max_length=20),
        ),
    ]
