"""The bottom package: mechanisms every app shares, no product rules.

Realtime publish (doorbells after commit), the channel layer, the socket
plumbing consumers build on, the error type apps derive theirs from, uploads,
public URLs and origins, session sockets, graceful shutdown, metrics, logs,
timestamps, the API's error shape. Something belongs here when apps use it
and it needs no app: this package imports no package of the project (not
crm, queues, chat, tickets, frontend, chatportal), only the standard library,
Django, Channels and third-party libraries. It is no Django app: no models,
no templates, no catalogs of its own (its strings are extracted into
chatportal/locale/ with everything else).
"""
