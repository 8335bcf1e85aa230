"""`/console/kb/…`: the console's knowledge-base screens (included by frontend.urls)."""

from __future__ import annotations

from django.urls import path

from kb import images
from kb.console import views

urlpatterns = [
    path("", views.article_list, name="console_kb"),
    path("new/", views.article_new, name="console_kb_new"),
    path("images/", images.upload_image, name="console_kb_image_upload"),
    path("<str:public_id>/", views.article_edit, name="console_kb_article"),
    path("<str:public_id>/status/", views.article_status, name="console_kb_article_status"),
    path("<str:public_id>/revert/", views.article_revert, name="console_kb_article_revert"),
]
