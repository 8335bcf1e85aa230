"""`/console/tickets/…`: the agent console's ticket screens (included by frontend.urls)."""

from __future__ import annotations

from django.urls import path

from tickets.console import contacts, views

urlpatterns = [
    path("", views.ticket_list, name="console_tickets"),
    path("bulk/", views.ticket_bulk, name="console_tickets_bulk"),
    path("<str:number>/", views.ticket_detail, name="console_ticket"),
    path("<str:number>/reply/", views.ticket_reply, name="console_ticket_reply"),
    path("<str:number>/update/", views.ticket_update, name="console_ticket_update"),
    path("<str:number>/contact/", contacts.ticket_link_contact, name="console_ticket_contact"),
    path("<str:number>/crm/", contacts.ticket_crm, name="console_ticket_crm"),
]
