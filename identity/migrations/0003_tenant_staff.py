"""Tenant staff of the admin: a user bound to one tenant; on PostgreSQL, what the tenant role
needs of Django's tables to serve their admin pages (oms_project/kernel/row_level_security.py)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from oms_project.kernel.row_level_security import disable_admin_tenant_scope, enable_admin_tenant_scope


def forwards(apps, schema_editor):
    enable_admin_tenant_scope(schema_editor)


def backwards(apps, schema_editor):
    disable_admin_tenant_scope(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("identity", "0002_row_level_security"),
    ]

    operations = [
        migrations.CreateModel(
            name="TenantStaffMember",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="tenant_staff",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "tenant",
                    models.ForeignKey(
                        db_column="tenant_id",
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="identity.tenant",
                    ),
                ),
            ],
            options={
                "verbose_name": "tenant staff member",
                "db_table": "identity_tenant_staff",
                "indexes": [models.Index(fields=["tenant"], name="tenant_staff_tenant")],
            },
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
