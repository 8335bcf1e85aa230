from __future__ import annotations

from django.urls import path

from reports import views_wallboard

urlpatterns = [
    path("wallboard/", views_wallboard.wallboard_page, name="console_wallboard"),
]
