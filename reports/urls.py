from __future__ import annotations

from django.urls import path

from reports import views, views_wallboard

urlpatterns = [
    path("wallboard/", views_wallboard.wallboard_page, name="console_wallboard"),
    path("reports/", views.reports_page, name="console_reports"),
    path("reports/drilldown/", views.drilldown_page, name="console_reports_drilldown"),
]
