# Authentication hardening: session epoch on the user, four-eyes change requests.
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='auth_epoch',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.CreateModel(
            name='SensitiveChangeRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('role', 'Role change'), ('second_factor_reset', 'Second factor reset'), ('password_reset', 'Password reset')], max_length=30, verbose_name='kind')),
                ('old_role', models.CharField(blank=True, max_length=20, verbose_name='current role')),
                ('new_role', models.CharField(blank=True, max_length=20, verbose_name='requested role')),
                ('password_hash', models.CharField(blank=True, editable=False, max_length=128)),
                ('reason', models.TextField(verbose_name='reason')),
                ('state', models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved'), ('refused', 'Refused')], default='pending', max_length=20, verbose_name='state')),
                ('requested_at', models.DateTimeField(auto_now_add=True, verbose_name='requested at')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by')),
                ('requested_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='requested by')),
                ('target', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='change_requests', to=settings.AUTH_USER_MODEL, verbose_name='account')),
            ],
            options={
                'verbose_name': 'sensitive account change request',
                'verbose_name_plural': 'sensitive account change requests',
                'ordering': ['-requested_at', '-id'],
                'constraints': [models.CheckConstraint(condition=models.Q(('kind__in', ['role', 'second_factor_reset', 'password_reset'])), name='changerequest_kind'), models.CheckConstraint(condition=models.Q(('state__in', ['pending', 'approved', 'refused'])), name='changerequest_state'), models.CheckConstraint(condition=models.Q(('requested_by', models.F('target')), _negated=True), name='changerequest_not_for_self'), models.CheckConstraint(condition=models.Q(('decided_by__isnull', True), models.Q(('decided_by', models.F('requested_by')), _negated=True), _connector='OR'), name='changerequest_second_person'), models.CheckConstraint(condition=models.Q(('decided_by__isnull', True), models.Q(('decided_by', models.F('target')), _negated=True), _connector='OR'), name='changerequest_decider_not_target'), models.UniqueConstraint(condition=models.Q(('state', 'pending')), fields=('target', 'kind'), name='changerequest_one_pending_per_kind')],
            },
        ),
    ]

