"""The tickets part of the HTTP API (PROTOCOL §5), mounted by chatportal/api.py.

- `tickets.py`: `/api/v1/tickets` — list, open, read, change, reply.
- `attachments.py`: `/api/v1/tickets/{number}/attachments` — upload and download.
- `calls.py`: `/api/v1/calls` — the PBX's call posts, and a call turned into a ticket.
- `schemas.py`: what both accept and answer (the OpenAPI document comes from it).

The MTA endpoint (`POST /api/v1/inbound-email`) lives with the rest of
inbound e-mail (`tickets.email.hooks`) and is mounted from here too.
"""

from __future__ import annotations

from tickets.api.attachments import router as attachments_router
from tickets.api.calls import router as calls_router
from tickets.api.tickets import router as tickets_router
from tickets.email.hooks import router as inbound_email_router

API_ROUTERS = [
    ("/tickets", tickets_router),
    ("/inbound-email", inbound_email_router),
    ("/tickets", attachments_router),
    ("/calls", calls_router),
]
