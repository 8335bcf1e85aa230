from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Lower apps offer registries so that they never import tickets.
        from anymail.signals import inbound

        from chat.conversion import register_ticket_converter
        from chat.sweeper import register_sweep
        from chat.transcripts import register_transcript_sender
        from crm.gdpr import register_gdpr_part
        from crm.lookup import register_open_tickets_source
        from crm.search import register_search_source
        from crm.timeline import register_timeline_source
        from tickets import crm_sources
        from tickets.actions.conversion import convert_for_chat, sweep_unanswered
        from tickets.actions.escalation import sweep_sla
        from tickets.email import sending
        from tickets.email.hooks import take_provider_mail
        from tickets.gdpr import erase_tickets, export_tickets
        from tickets.notifications import outbox

        register_ticket_converter(convert_for_chat)
        register_transcript_sender(outbox.send_transcript)
        # The tickets part of chat's sweep loop: unanswered chats, SLA clocks, mail due.
        register_sweep(sweep_unanswered)
        register_sweep(sweep_sla)
        register_sweep(sending.sweep_outbox)
        # The sender sits above the actions that fill the outbox (it records
        # mail it gave up on): the outbox wakes it through this registration.
        outbox.register_sender(sending.kick_delivery)
        register_open_tickets_source("tickets", crm_sources.open_tickets)
        register_timeline_source("tickets", crm_sources.timeline_entries)
        register_search_source("tickets", crm_sources.search_hits)
        register_gdpr_part("tickets", export=export_tickets, erase=erase_tickets)
        # Provider webhooks arrive as anymail's signal; an adapter, not domain logic.
        inbound.connect(take_provider_mail, dispatch_uid="chatportal.inbound_email")
