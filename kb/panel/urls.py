from __future__ import annotations

from django.urls import path

from kb.panel import views

urlpatterns = [
    path("panel/", views.panel_search, name="kb_panel_search"),
    path("most-used/", views.most_used, name="kb_most_used"),
]
