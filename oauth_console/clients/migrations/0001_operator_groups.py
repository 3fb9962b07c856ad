"""The two operator groups: "operators" (every server permission) and "read-only operators"
(view permissions only). Both may look up users, which the token filters' autocomplete needs."""

from django.conf import settings
from django.db import migrations

OPERATORS = "operators"
READ_ONLY_OPERATORS = "read-only operators"


def ensure_permissions(apps, using):
    # Django creates permissions after `migrate` finishes (post_migrate); on a fresh database
    # they do not exist yet, so create them now from the historical models.
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = None


def create_groups(apps, schema_editor):
    using = schema_editor.connection.alias
    ensure_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    user_app, user_model = settings.AUTH_USER_MODEL.lower().split(".")
    server = Permission.objects.using(using).filter(content_type__app_label="server")
    view_users = Permission.objects.using(using).filter(
        content_type__app_label=user_app, content_type__model=user_model, codename=f"view_{user_model}"
    )
    operators, _ = Group.objects.using(using).get_or_create(name=OPERATORS)
    operators.permissions.add(*server, *view_users)
    read_only, _ = Group.objects.using(using).get_or_create(name=READ_ONLY_OPERATORS)
    read_only.permissions.add(*server.filter(codename__startswith="view_"), *view_users)


def remove_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(
        name__in=[OPERATORS, READ_ONLY_OPERATORS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("server", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
