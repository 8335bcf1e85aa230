"""The wiring: settings, URLs, ASGI routing, the API assembly, the CLI, demo data.

Everything meets here: it imports every package (foundation and the apps
crm, queues, chat, tickets, frontend) and is imported by nothing but the
tests and the entry points (`chatportal` CLI, manage.py, ASGI servers).
Mechanisms the apps share live in foundation/, product rules in the apps.
"""
