"""The agents' ticket console: `/console/tickets/…` pages and their live socket.

- `urls.py`, `views.py`: the list (filters, bulk changes) and a ticket's page
  (reply, note, status, priority, assignee, department).
- `access.py`: who may open the console (`agent_required`, chats' pages too).
- `queries.py`: the list's filters, sorting and the agents offered.
- `forms.py`: the reply, update and bulk forms.
- `changes.py`: a form's changes applied through the actions.
- `rendering.py`: SLA clocks, the full timeline, the CRM summary, the page's
  live sections.
- `consumers.py`: `/ws/console/tickets/`, the page's sections pushed on
  every `ticket.changed`.

Every change goes through `tickets.actions`; what an agent may see is
`tickets.access`. Templates live in templates/tickets/console/.
"""
