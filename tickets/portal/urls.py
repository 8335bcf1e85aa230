"""`/portal/…`: the customers' self-service portal (included by frontend.urls)."""

from __future__ import annotations

from django.urls import path

from tickets.portal import views

urlpatterns = [
    path("", views.portal_home, name="portal"),
    path("login/", views.portal_login, name="portal_login"),
    path("logout/", views.portal_logout, name="portal_logout"),
    path("login/link/", views.portal_link_request, name="portal_link_request"),
    path("login/link/<str:token>/", views.portal_link_confirm, name="portal_link_confirm"),
    path("equipment/", views.portal_equipment, name="portal_equipment"),
    path("t/<str:number>/<str:token>/", views.portal_ticket_link, name="portal_ticket_link"),
    path("tickets/new/", views.portal_new_ticket, name="portal_new_ticket"),
    path("tickets/<str:number>/", views.portal_ticket, name="portal_ticket"),
    path("tickets/<str:number>/reply/", views.portal_reply, name="portal_reply"),
]
