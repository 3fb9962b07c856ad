# Issue 14: a client's sector_identifier_uri (OIDC Registration §2), and claims approved one by
# one on the consent page (OIDC Core §5.5), kept with the remembered consent, the code and the token.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("server", "0015_device_resources_and_resource_servers"),
    ]

    operations = [
        migrations.AddField(
            model_name="client",
            name="sector_identifier_uri",
            field=models.CharField(blank=True, default="", max_length=500),
        ),
        migrations.AddField(
            model_name="consent",
            name="claims",
            field=models.TextField(blank=True, db_default="", default=""),
        ),
        migrations.AddField(
            model_name="authorizationcode",
            name="consented_claims",
            field=models.TextField(blank=True, db_default="", default=""),
        ),
        migrations.AddField(
            model_name="token",
            name="claims",
            field=models.JSONField(blank=True, default=None, null=True),
        ),
    ]
