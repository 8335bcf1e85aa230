from __future__ import annotations

from django.urls import include, path

from frontend import views, views_calls, views_console, views_contacts, views_floor, views_viewer
from kb import images as kb_images
from tickets.portal import rating_views

urlpatterns = [
    path("", views.home, name="home"),
    path("console/", views_console.console, name="console"),
    path("console/tickets/", include("tickets.console.urls")),
    # The supervisor's floor: every open chat, watch, whisper, take over, presence.
    path("console/floor/", views_floor.floor_page, name="console_floor"),
    path("console/floor/list/", views_floor.floor_list, name="console_floor_list"),
    path(
        "console/floor/agents/<str:username>/presence/",
        views_floor.floor_presence,
        name="console_floor_presence",
    ),
    path("console/floor/<str:conversation_id>/", views_floor.floor_chat, name="console_floor_chat"),
    path(
        "console/floor/<str:conversation_id>/take-over/",
        views_floor.floor_take_over,
        name="console_floor_take_over",
    ),
    path(
        "console/floor/<str:conversation_id>/reassign/",
        views_floor.floor_reassign,
        name="console_floor_reassign",
    ),
    # The KB panel beside replies and "Most-used articles" (kb/panel).
    path("console/kb/", include("kb.panel.urls")),
    path("console/kb/", include("kb.console.urls")),
    path("kb/images/<str:public_id>/", kb_images.serve_image, name="kb_image"),
    path("console/panel/<str:conversation_id>/", views_console.console_panel, name="console_panel"),
    path("console/calls/", views_calls.console_calls, name="console_calls"),
    path("console/calls/<str:call_id>/", views_calls.console_call, name="console_call"),
    path(
        "console/calls/<str:call_id>/contact/",
        views_calls.console_call_contact,
        name="console_call_contact",
    ),
    path(
        "console/calls/<str:call_id>/ticket/",
        views_calls.console_call_ticket,
        name="console_call_ticket",
    ),
    path(
        "console/panel/<str:conversation_id>/asset/",
        views_console.console_panel_asset,
        name="console_panel_asset",
    ),
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
    path("console/settings/", views_viewer.console_settings, name="console_settings"),
    path("viewer/time-zone/", views_viewer.report_time_zone, name="report_time_zone"),
    # The supervisors' wall-board and the managers' reports page (reports/).
    path("console/", include("reports.urls")),
    path("console/canned/", views_console.console_canned, name="console_canned"),
    path("console/search/", views_contacts.console_search, name="console_search"),
    path("console/contacts/<str:public_id>/", views_contacts.contact_page, name="console_contact"),
    path("portal/", include("tickets.portal.urls")),
    # The one-click rating of a solved ticket (public: the signed token is the key).
    path("rate/<str:token>/", rating_views.rate_ticket, name="rate_ticket"),
    path("widget.js", views.widget_js, name="widget_js"),
    path("widget-demo/", views.widget_demo, name="widget_demo"),
]
