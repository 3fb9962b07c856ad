"""Drop the stored days of the old client-authentication series ("auth").

It counted only `client_authenticated` events and missed every authentication the token
endpoint folds into its `token_issued` event (most of them): its finished days are wrong and,
being finished, would never be counted again. The chart now stores its days under a new name
(`oauth_console.dashboard.audit_stats.AUTH_SERIES`); the first dashboard view after this
migration recounts the thirty days from the audit log in one range query. Days older than the
audit log's retention cannot be recounted, but the chart shows only thirty.
"""

from django.db import migrations

OLD_SERIES = "auth"


def drop_stale_client_authentication_days(apps, schema_editor):
    apps.get_model("console_dashboard", "DayTotal").objects.filter(series=OLD_SERIES).delete()


class Migration(migrations.Migration):
    dependencies = [("console_dashboard", "0001_day_total")]

    operations = [migrations.RunPython(drop_stale_client_authentication_days, migrations.RunPython.noop)]
