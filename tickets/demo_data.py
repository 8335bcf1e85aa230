"""Demo tickets: a past on Maria's and others' records, one still open.

Idempotent: a ticket is found again by contact and subject, so seeding twice
adds nothing. Also seeds the default SLA plan "Standard" (see tickets.sla).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm.models import SlaPlan
from tickets.actions.assignment import assign_ticket
from tickets.actions.lifecycle import change_status
from tickets.actions.messages import add_reply, create_ticket
from tickets.models import Ticket

if TYPE_CHECKING:
    from queues.demo_records import DemoData

DEFAULT_PLAN = ("Standard", 480, 2880)

# contact, department, channel, subject, first message, agent, agent reply, final status
# fmt: off
TICKETS = [
    ("crm-1", "support", "phone", "RZA-500 firmware 3.2 update",
     "Where do I find the firmware 3.2 package for the RZA-500?", "boris",
     "The package and release notes are on the portal under Downloads; "
     "update one relay first and keep the old settings file.", "closed"),
    ("crm-1", "support", "email", "Relay trips on inrush current",
     "Releul declanșează la pornirea transformatorului, setările sunt cele din fabrică.", "boris",
     "Activați blocarea la armonica a doua (15%) și reveniți cu înregistrarea de defect.", "solved"),
    ("crm-2", "billing", "email", "Copy of the October invoice",
     "Could you send me a copy of the October invoice?", "dana",
     "Attached to this ticket; it is also in the portal.", "closed"),
    ("crm-4", "support", "portal", "BMRZ-100: дисплей не включается",
     "После грозы дисплей BMRZ-100 не включается, защита работает.", "chen",
     "Похоже на блок питания дисплея; пришлите серийный номер и фото платы.", "solved"),
    ("crm-5", "support", "chat", "GW-4 gateway loses IEC 104 link at night",
     "The GW-4 drops the IEC 104 connection every night around 02:00.", "boris",
     "Please send the gateway log from last night; we suspect the NTP resync.", "pending"),
]
# fmt: on


def seed(demo: DemoData) -> None:
    name, first_response, resolution = DEFAULT_PLAN
    plan, _ = SlaPlan.objects.get_or_create(
        name=name,
        defaults={"first_response_minutes": first_response, "resolution_minutes": resolution},
    )
    demo.plans[name] = plan
    for contact_key, department, channel, subject, body, agent, reply, status in TICKETS:
        contact = demo.contacts[contact_key]
        if Ticket.objects.filter(contact=contact, subject=subject).exists():
            continue
        user = demo.agents[agent]
        ticket = create_ticket(
            subject=subject,
            body=body,
            contact=contact,
            channel=channel,
            department=demo.departments[department],
            author_role="customer",
            author_contact=contact,
        )
        assign_ticket(ticket, user, by=user)
        add_reply(ticket, body=reply, author_role="agent", author_user=user)
        if status == "closed":
            change_status(ticket, "solved", by=user)
        change_status(ticket, status, by=user)
