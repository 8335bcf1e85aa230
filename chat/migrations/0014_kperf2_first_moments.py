"""Conversation.first_assigned_at / first_reply_at, filled from the event log."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def backfill(apps, schema_editor):
    Conversation = apps.get_model("chat", "Conversation")
    ConversationEvent = apps.get_model("chat", "ConversationEvent")
    db = schema_editor.connection.alias

    def first(**conditions):
        return Subquery(
            ConversationEvent.objects.using(db)
            .filter(conversation=OuterRef("pk"), **conditions)
            .order_by("created_at")
            .values("created_at")[:1]
        )

    Conversation.objects.using(db).update(
        first_assigned_at=first(kind="assigned"),
        first_reply_at=first(
            kind__in=("message", "attachment"), author_role="agent", internal=False
        ),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0013_kperf_event_moments_idx"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="first_assigned_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="conversation",
            name="first_reply_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
