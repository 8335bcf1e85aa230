from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Lower apps announce changes through foundation.webhooks; this app
        # writes them into its outbox and sends them on chat's sweep loop.
        from chat.sweeper import register_sweep
        from crm.gdpr import register_gdpr_part
        from foundation.webhooks import register_webhook_sink
        from integrations import outbox, sending
        from integrations.gdpr import erase_webhooks, export_webhooks

        register_webhook_sink(outbox.enqueue_webhook_deliveries)
        register_sweep(sending.sweep_webhooks)
        register_gdpr_part("webhooks", export=export_webhooks, erase=erase_webhooks)
