from __future__ import annotations

from django.urls import include, path

from frontend import views, views_console
from tickets import views_portal as portal

urlpatterns = [
    path("", views.home, name="home"),
    path("console/", views_console.console, name="console"),
    path("console/tickets/", include("tickets.urls_console")),
    path("console/panel/<str:conversation_id>/", views_console.console_panel, name="console_panel"),
    path("console/canned/", views_console.console_canned, name="console_canned"),
    path("portal/", portal.portal_home, name="portal"),
    path("portal/login/", portal.portal_login, name="portal_login"),
    path("portal/logout/", portal.portal_logout, name="portal_logout"),
    path("portal/login/link/", portal.portal_link_request, name="portal_link_request"),
    path("portal/login/link/<str:token>/", portal.portal_link_confirm, name="portal_link_confirm"),
    path("portal/tickets/new/", portal.portal_new_ticket, name="portal_new_ticket"),
    path("portal/tickets/<str:number>/", portal.portal_ticket, name="portal_ticket"),
    path("portal/tickets/<str:number>/reply/", portal.portal_reply, name="portal_reply"),
    path("widget.js", views.widget_js, name="widget_js"),
    path("widget-demo/", views.widget_demo, name="widget_demo"),
]
