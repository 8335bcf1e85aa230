"""Ticket.resolution_s: the KPI resolution time, fixed at solving; filled for solved tickets."""

from dataclasses import replace

from django.db import migrations, models


def backfill(apps, schema_editor):
    # The current rules (tickets.sla.resolution_seconds) on the current hours.
    from queues.hours import schedule_of
    from tickets.sla import resolution_seconds

    Ticket = apps.get_model("tickets", "Ticket")
    Department = apps.get_model("queues", "Department")
    db = schema_editor.connection.alias
    schedules = {}
    solved = Ticket.objects.using(db).filter(solved_at__isnull=False).select_related("sla_plan")
    for ticket in solved.iterator(chunk_size=2000):
        plan_24x7 = bool(ticket.sla_plan_id and ticket.sla_plan.is_24x7)
        key = (ticket.department_id, plan_24x7)
        if key not in schedules:
            department = (
                Department.objects.using(db)
                .prefetch_related("hours", "holidays")
                .get(pk=ticket.department_id)
            )
            schedule = schedule_of(department)
            schedules[key] = replace(schedule, is_24x7=True) if plan_24x7 else schedule
        seconds = resolution_seconds(ticket, schedules[key], ticket.solved_at)
        Ticket.objects.using(db).filter(pk=ticket.pk).update(resolution_s=seconds)


class Migration(migrations.Migration):
    dependencies = [
        ("queues", "0008_department_transcripts"),
        ("tickets", "0015_kperf_kpi_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="resolution_s",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
