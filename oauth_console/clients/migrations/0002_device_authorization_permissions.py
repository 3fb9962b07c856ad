"""The operator groups get the permissions of device authorizations (RFC 8628): "operators"
every one, "read-only operators" the view permission (revoking them takes server.revoke_tokens,
which only operators have)."""

import importlib

from django.db import migrations


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    create_groups_module = importlib.import_module("oauth_console.clients.migrations.0001_operator_groups")
    # Permissions are created after `migrate` (post_migrate): on a fresh database, now.
    create_groups_module.ensure_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    device = Permission.objects.using(using).filter(
        content_type__app_label="server", content_type__model="deviceauthorization"
    )
    for group in Group.objects.using(using).filter(name="operators"):
        group.permissions.add(*device)
    for group in Group.objects.using(using).filter(name="read-only operators"):
        group.permissions.add(*device.filter(codename__startswith="view_"))


class Migration(migrations.Migration):
    dependencies = [
        ("console_clients", "0001_operator_groups"),
        ("server", "0009_device_codes"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
