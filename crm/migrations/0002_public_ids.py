# Public UUIDs for contacts, organizations and calls. Added nullable, filled
# row by row (a callable default gives every existing row the same value in
# one ALTER), then made unique: the safe way for tables that already hold data.

import uuid

from django.db import migrations, models

MODELS = ("organization", "contact", "callrecord")


def fill_public_ids(apps, schema_editor):
    for name in MODELS:
        model = apps.get_model("crm", name)
        for pk in model.objects.filter(public_id__isnull=True).values_list("pk", flat=True):
            model.objects.filter(pk=pk).update(public_id=uuid.uuid4())


class Migration(migrations.Migration):

    dependencies = [
        ("crm", "0001_initial"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name=name,
                name="public_id",
                field=models.UUIDField(editable=False, null=True),
            )
            for name in MODELS
        ),
        migrations.RunPython(fill_public_ids, migrations.RunPython.noop, elidable=True),
        *(
            migrations.AlterField(
                model_name=name,
                name="public_id",
                field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
            )
            for name in MODELS
        ),
    ]
