# Blinding hold-out: how the quality team resolved text flagged as naming the AI or its output.
# db_default: the importer inserts cases with raw SQL (staged COPY) that does not name this column.
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0002_import_profiles_source_reference'),
    ]

    operations = [
        migrations.AddField(
            model_name='case',
            name='blinding_review',
            field=models.CharField(blank=True, choices=[('', 'not reviewed'), ('cleared', 'flag cleared'),
                                                        ('redacted', 'text redacted')],
                                   default='', db_default='', max_length=10, verbose_name='blinding review'),
        ),
    ]
