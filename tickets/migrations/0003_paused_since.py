from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tickets", "0002_ticket_number_row")]

    operations = [
        migrations.RenameField(model_name="ticket", old_name="pending_since", new_name="paused_since"),
    ]
