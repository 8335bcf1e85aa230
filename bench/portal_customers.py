"""Bulk-created portal customers for the portal benchmark (run inside Django).

`create_portal_customers(count, ...)` makes, in a few bulk statements,
`count` customers (user + Contact + primary e-mail, one or two open tickets
each with their `created` event) and a signed-in session per customer, as
`django.contrib.auth.login` would have stored it (`_auth_user_id`,
`_auth_user_backend`, `_auth_user_hash`), plus one supervisor agent with an
API token for the updater. It writes what the socket side and the updater
need to a JSON file: per customer the session key and ticket numbers.

Called from `bench/run_portal_bench.py` through `chatportal shell -c`, so it
runs with the deployment's settings against the bench database only.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

SESSION_AGE = datetime.timedelta(days=1)
UPDATER_USERNAME = "bench-portal-updater"
BATCH = 500


def create_portal_customers(
    count: int, *, department_slug: str, output: str, prefix: str = "bench-customer"
) -> dict[str, Any]:
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
        load_backend,
    )
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from crm.models import Contact, ContactEmail
    from queues.models import AgentProfile, Department
    from queues.tokens import issue_agent_token
    from tickets.models import NUMBER_PREFIX, Ticket, TicketEvent, TicketNumber

    User = get_user_model()
    department = Department.objects.get(slug=department_slug)
    # The backend a password sign-in records: the first that can load a user
    # (a throttle in front of it refuses guesses but authenticates nobody).
    backend = next(
        path for path in settings.AUTHENTICATION_BACKENDS if hasattr(load_backend(path), "get_user")
    )
    now = timezone.now()
    with transaction.atomic():
        users = User.objects.bulk_create(
            [
                User(
                    username=f"{prefix}-{i:05d}",
                    email=f"{prefix}-{i:05d}@bench.invalid",
                    first_name="Bench",
                    last_name=f"Customer {i}",
                    # Unusable (a "!" prefix): these customers only ever have sessions.
                    password=f"!bench-{get_random_string(20)}",
                )
                for i in range(count)
            ],
            batch_size=BATCH,
        )
        contacts = Contact.objects.bulk_create(
            [Contact(name=f"Bench Customer {i}", portal_user=user) for i, user in enumerate(users)],
            batch_size=BATCH,
        )
        ContactEmail.objects.bulk_create(
            [
                ContactEmail(contact=c, email=u.email, is_primary=True)
                for c, u in zip(contacts, users, strict=True)
            ],
            batch_size=BATCH,
        )
        # Numbers after the ones already issued; the counter moves past ours.
        counter, _created = TicketNumber.objects.select_for_update().get_or_create(pk=1)
        next_number = counter.last_value + 1
        tickets: list[Ticket] = []
        owners: list[int] = []
        for i, contact in enumerate(contacts):
            for k in range(1 + i % 2):
                tickets.append(
                    Ticket(
                        number=f"{NUMBER_PREFIX}{next_number}",
                        subject=f"Bench ticket {k + 1} of customer {i}",
                        status=Ticket.Status.OPEN,
                        channel=Ticket.Channel.PORTAL,
                        contact=contact,
                        requester_name=contact.name,
                        department=department,
                        first_responded_at=now,
                        last_seq=1,
                    )
                )
                owners.append(i)
                next_number += 1
        tickets = Ticket.objects.bulk_create(tickets, batch_size=BATCH)
        counter.last_value = next_number - 1
        counter.save(update_fields=["last_value"])
        TicketEvent.objects.bulk_create(
            [
                TicketEvent(
                    ticket=t,
                    seq=1,
                    kind=TicketEvent.Kind.CREATED,
                    author_role=TicketEvent.Role.CUSTOMER,
                    author_contact=t.contact,
                    payload={
                        "subject": t.subject,
                        "body": "Bench",
                        "channel": t.channel,
                        "priority": t.priority,
                        "author": t.contact.name,
                    },
                )
                for t in tickets
            ],
            batch_size=BATCH,
        )
        store = SessionStore()
        keys = [get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789") for _ in users]
        Session.objects.bulk_create(
            [
                Session(
                    session_key=key,
                    session_data=store.encode(
                        {
                            SESSION_KEY: str(user.pk),
                            BACKEND_SESSION_KEY: backend,
                            HASH_SESSION_KEY: user.get_session_auth_hash(),
                        }
                    ),
                    expire_date=now + SESSION_AGE,
                )
                for key, user in zip(keys, users, strict=True)
            ],
            batch_size=BATCH,
        )
        updater, _created = User.objects.get_or_create(
            username=UPDATER_USERNAME, defaults={"first_name": "Bench", "last_name": "Updater"}
        )
        profile, _created = AgentProfile.objects.get_or_create(user=updater)
        profile.is_supervisor = True
        profile.save()
        profile.departments.set([department])
    by_customer: list[list[str]] = [[] for _ in users]
    for ticket, owner in zip(tickets, owners, strict=True):
        by_customer[owner].append(ticket.number)
    data = {
        "created_at": now.isoformat(),
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "updater_token": issue_agent_token(updater),
        "updater_username": updater.get_username(),
        "customers": [
            {"contact": str(c.public_id), "session": key, "tickets": numbers}
            for c, key, numbers in zip(contacts, keys, by_customer, strict=True)
        ],
    }
    Path(output).write_text(json.dumps(data))
    return {"customers": len(users), "tickets": len(tickets)}
