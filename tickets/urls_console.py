"""`/console/tickets/…`: the agent console's ticket screens (included by frontend.urls)."""

from __future__ import annotations

from django.urls import path

from tickets import views_console

urlpatterns = [
    path("", views_console.ticket_list, name="console_tickets"),
    path("bulk/", views_console.ticket_bulk, name="console_tickets_bulk"),
    path("<str:number>/", views_console.ticket_detail, name="console_ticket"),
    path("<str:number>/reply/", views_console.ticket_reply, name="console_ticket_reply"),
    path("<str:number>/update/", views_console.ticket_update, name="console_ticket_update"),
]
