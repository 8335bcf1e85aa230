from __future__ import annotations

from django.urls import include, path

from frontend import views, views_console

urlpatterns = [
    path("", views.home, name="home"),
    path("console/", views_console.console, name="console"),
    path("console/tickets/", include("tickets.console.urls")),
    path("console/panel/<str:conversation_id>/", views_console.console_panel, name="console_panel"),
    path(
        "console/panel/<str:conversation_id>/link/",
        views_console.console_panel_link,
        name="console_panel_link",
    ),
    path(
        "console/link/contacts/",
        views_console.console_contact_lookup,
        name="console_contact_lookup",
    ),
    path("console/canned/", views_console.console_canned, name="console_canned"),
    path("portal/", include("tickets.portal.urls")),
    path("widget.js", views.widget_js, name="widget_js"),
    path("widget-demo/", views.widget_demo, name="widget_demo"),
]
