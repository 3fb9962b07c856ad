"""The operator groups get the permissions of APIs (resource servers, RFC 8707): "operators"
every one (add, change, delete), "read-only operators" the view permission. The Api model came
after 0001 made the groups, so its permissions were not among "every server permission"."""

import importlib

from django.db import migrations


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    groups = importlib.import_module("oauth_console.clients.migrations.0001_operator_groups")
    # Permissions are created after `migrate` (post_migrate): on a fresh database, now.
    groups.ensure_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    api = Permission.objects.using(using).filter(content_type__app_label="server", content_type__model="api")
    for group in Group.objects.using(using).filter(name=groups.OPERATORS):
        group.permissions.add(*api)
    for group in Group.objects.using(using).filter(name=groups.READ_ONLY_OPERATORS):
        group.permissions.add(*api.filter(codename__startswith="view_"))


class Migration(migrations.Migration):
    dependencies = [
        ("console_clients", "0002_device_authorization_permissions"),
        ("server", "0013_apis"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
