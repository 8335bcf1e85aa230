"""The customers' self-service portal: `/portal/…` pages and their live socket.

- `urls.py`, `views.py`: sign-in (password or one-time link), "My tickets",
  a ticket's page with its reply form, a new ticket.
- `forms.py`: the portal's forms.
- `auth.py`: who is a portal customer, and the one-time sign-in links.
- `rendering.py`: what a customer sees of a ticket (the public timeline),
  rendered for the pages and the socket alike.
- `consumers.py`: `/ws/portal/`, a customer's tickets pushed live (the
  console's socket builds on it).

Every change goes through `tickets.actions`; what a customer may see is
`tickets.access`. Templates live in templates/tickets/portal/.
"""
