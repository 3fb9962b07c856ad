"""The `security` group: may read the audit log (view permission on AuditEvent) and nothing else."""

from django.db import migrations

GROUP = "security"


def create_security_group(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    # Permissions are normally created after migrations run (post_migrate); create the one we
    # need here so the group is complete on a fresh database.
    content_type, _ = ContentType.objects.get_or_create(app_label="audit", model="auditevent")
    view, _ = Permission.objects.get_or_create(
        codename="view_auditevent", content_type=content_type, defaults={"name": "Can view audit event"}
    )
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(view)


def remove_security_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_security_group, remove_security_group)]
