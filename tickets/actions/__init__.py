"""Everything that changes a ticket, and the only place tickets publish.

Each action runs in one short `transaction.atomic()`: it writes the rows,
appends a `TicketEvent` with the next gapless `seq` and schedules the
doorbell (`ticket.changed`) for the customer's portal sockets, the
organization's admins and the agents watching the ticket
(`log.append_event`). The doorbell carries no content, so internal notes
ring it too; sockets re-read what they may see. No mail or network call runs
inside a transaction: mail is written to the outbox with the event and sent
after the commit (`tickets.notifications.outbox`, `tickets.email.sending`).

By subject (import from the module itself; this package re-exports nothing):

- `log.py`: the event log's one writer (`append_event`), the doorbell, the
  ticket row lock.
- `messages.py`: `create_ticket` with its first message; `add_reply`
  (replies and internal notes).
- `attachments.py`: the file rows that go with a message.
- `lifecycle.py`: `change_status`, `change_priority`, and what a status
  change does to the SLA clocks.
- `assignment.py`: `assign_ticket`, `move_ticket` (to another department).
- `escalation.py`: `sweep_sla`, SLA warnings and breaches.
- `conversion.py`: how a chat becomes a ticket, the whole path.
- `mail.py`: `record_undelivered_email`, mail the outbox gave up on.
- `routing.py`: a new ticket's department (product routes) and its account
  owner (continuity), applied by `create_ticket`.
- `contacts.py`: `link_ticket_to_contact`, the unidentified ticket made a contact's.

Bottom up: `log` < `attachments`, `lifecycle`, `routing` < `messages` < `conversion`;
`assignment`, `escalation` and `mail` need only `log`.
"""
