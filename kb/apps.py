from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KbConfig(AppConfig):
    name = "kb"
    verbose_name = _("Knowledge base")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from chat.suggestions import register_deflection_listener, register_suggestion_source
        from kb.deflection import count_deflection, suggest_for_chat
        from tickets.console.side_panels import register_side_panel

        # The KB search panel beside the reply on the console ticket page.
        register_side_panel("kb/panel/_panel.html")
        # Suggestions in the widget, and the chats they solved.
        register_suggestion_source(suggest_for_chat)
        register_deflection_listener(count_deflection)
