from django.db import migrations


def create_counter(apps, schema_editor):
    TicketNumber = apps.get_model("tickets", "TicketNumber")
    TicketNumber.objects.get_or_create(pk=1, defaults={"last_value": 1000})


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [migrations.RunPython(create_counter, migrations.RunPython.noop)]
