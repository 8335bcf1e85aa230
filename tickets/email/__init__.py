"""The e-mail channel: mail in (new tickets and replies), mail out (notifications, links).

In, above the actions: `hooks.py` (the MTA endpoint and the providers'
webhooks) and the `ingest_email` command hand a message to `inbound.py`,
which files it as a new ticket or a reply through `tickets.actions`;
`parsing.py`, `text.py` and `auto_replies.py` read the MIME, the text and
whether a machine wrote it.

Out, below the actions: `outbound.py` composes (a notification in the
customer's language, threaded by ticket), `outbox.py` stores it in the
action's transaction, `sending.py` sends after the commit and retries. The
sender records a mail it gave up on through `tickets.actions.mail`, so it is
the one module out here that sits above the actions.
Templates live in templates/tickets/email/.
"""
