from __future__ import annotations

from django.urls import include, path

from frontend import views, views_console, views_contacts

urlpatterns = [
    path("", views.home, name="home"),
    path("console/", views_console.console, name="console"),
    path("console/tickets/", include("tickets.console.urls")),
    path("console/panel/<str:conversation_id>/", views_console.console_panel, name="console_panel"),
    path("console/canned/", views_console.console_canned, name="console_canned"),
    path("console/search/", views_contacts.console_search, name="console_search"),
    path("console/contacts/<str:public_id>/", views_contacts.contact_page, name="console_contact"),
    path("portal/", include("tickets.portal.urls")),
    path("widget.js", views.widget_js, name="widget_js"),
    path("widget-demo/", views.widget_demo, name="widget_demo"),
]
