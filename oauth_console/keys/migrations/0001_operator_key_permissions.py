"""The operator groups get the signing-key permissions, which came after the groups were made
(console_clients.0001): "operators" see, rotate and revoke keys; "read-only operators" see them."""

from django.db import migrations

OPERATORS = "operators"
READ_ONLY_OPERATORS = "read-only operators"


def ensure_permissions(apps, using):
    # As in console_clients.0001: permissions are made after `migrate` (post_migrate); on a fresh
    # database they do not exist yet, so make them now from the historical models.
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = None


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    ensure_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    keys = Permission.objects.using(using).filter(
        content_type__app_label="server", content_type__model="signingkey"
    )
    view = keys.filter(codename="view_signingkey")
    for name, permissions in ((OPERATORS, keys), (READ_ONLY_OPERATORS, view)):
        group = Group.objects.using(using).filter(name=name).first()
        if group is not None:
            group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    using = schema_editor.connection.alias
    keys = Permission.objects.using(using).filter(
        content_type__app_label="server", content_type__model="signingkey"
    )
    for group in Group.objects.using(using).filter(name__in=[OPERATORS, READ_ONLY_OPERATORS]):
        group.permissions.remove(*keys)


class Migration(migrations.Migration):
    dependencies = [
        ("console_clients", "0001_operator_groups"),
        ("server", "0007_openid_connect"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
