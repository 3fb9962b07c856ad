"""Position hashes: each new event's hash is bound to its id, so a copied row verifies nowhere.

Existing rows are not rehashed: binding a position now would also bless any copy already in
the log's unsealed tail, which is what this change is for. Instead a `legacy` record (its digest
under the audit key) says up to which id rows may lack a position hash; checkpoints bind those
rows' ids as before, and the sealer refuses a legacy row that repeats another. Run it with the
old processes stopped: a row an old process writes after it has no position hash and is
reported by verify_audit_log.
"""

from django.db import migrations, models


def record_legacy_boundary(apps, schema_editor):
    from oauth_console.audit import chain

    AuditEvent = apps.get_model("audit", "AuditEvent")
    Checkpoint = apps.get_model("audit", "Checkpoint")
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    if last is None:
        return  # a new log: every row will carry a position hash
    first = AuditEvent.objects.order_by("id").values_list("id", flat=True).first()
    Checkpoint.objects.create(
        kind="legacy",
        first_event_id=first,
        last_event_id=last,
        event_count=0,
        id_ranges=[],
        prev_digest="",
        digest=chain.legacy_digest(last_event_id=last),
    )


def forget_legacy_boundary(apps, schema_editor):
    apps.get_model("audit", "Checkpoint").objects.filter(kind="legacy").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0006_new_event_types"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="position_hash",
            # db_default: rows an old process still inserts during the deploy do not fail.
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
        migrations.AlterField(
            model_name="checkpoint",
            name="kind",
            field=models.CharField(
                choices=[("seal", "Seal"), ("prune", "Prune"), ("legacy", "Legacy events")],
                default="seal",
                max_length=8,
            ),
        ),
        migrations.RunPython(record_legacy_boundary, forget_legacy_boundary),
    ]
