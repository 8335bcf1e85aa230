from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Lower apps offer registries so that they never import tickets.
        from anymail.signals import inbound

        from chat.conversion import register_ticket_converter
        from chat.sweeper import register_sweep
        from crm.gdpr import register_gdpr_part
        from crm.lookup import register_open_tickets_source
        from crm.timeline import register_timeline_source
        from tickets import crm_sources
        from tickets.conversion import convert_for_chat, sweep
        from tickets.email_hooks import take_provider_mail
        from tickets.gdpr import erase_tickets, export_tickets
        from tickets.outbox import sweep_outbox

        register_ticket_converter(convert_for_chat)
        register_sweep(sweep)
        register_sweep(sweep_outbox)
        register_open_tickets_source("tickets", crm_sources.open_tickets)
        register_timeline_source("tickets", crm_sources.timeline_entries)
        register_gdpr_part("tickets", export=export_tickets, erase=erase_tickets)
        # Provider webhooks arrive as anymail's signal; an adapter, not domain logic.
        inbound.connect(take_provider_mail, dispatch_uid="chatportal.inbound_email")
