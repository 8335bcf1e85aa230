"""The e-mail channel: mail in (new tickets and replies), mail out (notifications, links).

In, above the actions: `hooks.py` (the MTA endpoint and the providers'
webhooks) and the `ingest_email` command hand a message to `inbound.py`,
which files it as a new ticket or a reply through `tickets.actions`;
`parsing.py`, `text.py` and `auto_replies.py` read the MIME, the text and
whether a machine wrote it.

Out: the notifications are composed and stored by `tickets.notifications`
(below the actions, in their transaction); `sending.py` sends them after the
commit and retries, and records a mail it gave up on through
`tickets.actions.mail`. Everything in this package sits above the actions.
Templates live in templates/tickets/email/.
"""
