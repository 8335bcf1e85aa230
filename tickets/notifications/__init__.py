"""What the help desk tells customers by e-mail, below the actions that cause it.

`outbound.py` composes a notification (in the customer's language, threaded
by ticket, with a sign-in link from `tickets.customers`); `outbox.py` stores
it in the action's own transaction, so a mail exists exactly when the change
it reports was committed. Sending is the e-mail channel's job
(`tickets/email/sending.py`, after the commit, with retries).
Templates live in templates/tickets/email/.
"""
