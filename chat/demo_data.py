"""Demo canned responses (idempotent: found again by department and shortcut)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chat.models import CannedResponse

if TYPE_CHECKING:
    from queues.demo_records import DemoData

# department slug or None (global), shortcut, title, body
# fmt: off
CANNED_RESPONSES = [
    (None, "hello", "Greeting", "Hello {first_name}, this is {agent_name}. How can I help you today?"),
    (None, "thanks", "Thanks and goodbye",
     "Thank you, {first_name}. If anything else comes up, just write to us again."),
    (None, "moment", "One moment", "One moment please, {first_name}: I am checking this for you."),
    ("support", "serial", "Asset on record",
     "I can see your equipment on the record of {organization}, so there is no need to look up the serial number."),
    ("support", "firmware", "Firmware update",
     "The latest firmware and its release notes are in the portal under Downloads. "
     "Please update one relay first and keep the old settings file."),
    ("billing", "invoice", "Invoice copy",
     "Hello {first_name}, I am sending a copy of the invoice to the e-mail address on your account."),
]
# fmt: on


def seed(demo: DemoData) -> None:
    for slug, shortcut, title, body in CANNED_RESPONSES:
        department = demo.departments.get(slug) if slug else None
        if slug and department is None:
            continue
        CannedResponse.objects.update_or_create(
            department=department, shortcut=shortcut, defaults={"title": title, "body": body}
        )
