from __future__ import annotations

from django.urls import include, path

from frontend import views, views_console

urlpatterns = [
    path("", views.home, name="home"),
    path("console/", views_console.console, name="console"),
    path("console/tickets/", include("tickets.console.urls")),
    path("console/panel/<str:conversation_id>/", views_console.console_panel, name="console_panel"),
    path("console/canned/", views_console.console_canned, name="console_canned"),
    path("portal/", include("tickets.portal.urls")),
    path("widget.js", views.widget_js, name="widget_js"),
    path("widget-demo/", views.widget_demo, name="widget_demo"),
]
