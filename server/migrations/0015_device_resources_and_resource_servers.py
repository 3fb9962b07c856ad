from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("server", "0014_sweep_position"),
    ]

    operations = [
        migrations.AddField(
            model_name="deviceauthorization",
            name="audience",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="api",
            name="resource_servers",
            field=models.ManyToManyField(blank=True, related_name="served_apis", to="server.client"),
        ),
    ]
