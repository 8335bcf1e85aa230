from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KbConfig(AppConfig):
    name = "kb"
    verbose_name = _("Knowledge base")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kb.ticket_links import article_links
        from tickets.console.page_links import register_ticket_page_links

        # "Create article from this ticket" and the articles that answer it, on the ticket's page.
        register_ticket_page_links("kb", article_links)
