"""The operator groups get the webhook permissions: "operators" every one (subscribe, change,
rotate, test, replay: webhooks.manage_webhooks), "read-only operators" the view permission."""

import importlib

from django.db import migrations


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    groups = importlib.import_module("oauth_console.clients.migrations.0001_operator_groups")
    # Permissions are created after `migrate` (post_migrate): on a fresh database, now.
    groups.ensure_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    webhooks = Permission.objects.using(using).filter(content_type__app_label="webhooks")
    for group in Group.objects.using(using).filter(name=groups.OPERATORS):
        group.permissions.add(*webhooks)
    for group in Group.objects.using(using).filter(name=groups.READ_ONLY_OPERATORS):
        group.permissions.add(*webhooks.filter(codename="view_subscription"))


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("console_clients", "0001_operator_groups"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
