from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _register_search_functions(sender, connection, **kwargs):
    # The SQLite search index's triggers call Python (kb/fts_sqlite.py).
    if connection.vendor == "sqlite":
        from kb.fts_sqlite import register_functions

        register_functions(connection.connection)


def _reinstall_search_index(sender, using, **kwargs):
    # A table rebuild by a later SQLite migration drops kb_article's triggers.
    from django.db import connections

    from kb.fts_sqlite import install

    connection = connections[using]
    if connection.vendor == "sqlite" and "kb_article" in connection.introspection.table_names():
        install(connection)


class KbConfig(AppConfig):
    name = "kb"
    verbose_name = _("Knowledge base")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from chat.suggestions import register_deflection_listener, register_suggestion_source
        from kb.deflection import count_deflection, suggest_for_chat
        from kb.ticket_links import article_links
        from tickets.console.page_links import register_ticket_page_links
        from tickets.console.side_panels import register_side_panel

        # The KB search panel beside the reply on the console ticket page.
        register_side_panel("kb/panel/_panel.html")
        # Suggestions in the widget, and the chats they solved.
        register_suggestion_source(suggest_for_chat)
        register_deflection_listener(count_deflection)
        # The SQLite search index's functions and triggers (kb/fts_sqlite.py).
        connection_created.connect(_register_search_functions, dispatch_uid="kb-search-functions")
        post_migrate.connect(_reinstall_search_index, sender=self, dispatch_uid="kb-search-index")
        # "Create article from this ticket" and the articles that answer it, on the ticket's page.
        register_ticket_page_links("kb", article_links)
