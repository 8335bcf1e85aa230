from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from chatportal import health
from foundation import metrics
from frontend import views_viewer
from tickets.email.hooks import provider_webhook_urls

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/v1/", include("chatportal.api")),
    # Providers' inbound mail webhooks (django-anymail), 404 until configured.
    path("anymail/", include((provider_webhook_urls(), "anymail"))),
    path("accounts/", include("django.contrib.auth.urls")),
    # The language switch: Django's set_language (reversed by its name), in
    # front of it ours, which also keeps the choice on the agent or contact.
    path("i18n/setlang/", views_viewer.set_language),
    path("i18n/", include("django.conf.urls.i18n")),
    # Self-service: articles in the widget, help search, portal suggestions.
    path("", include("kb.self_service_urls")),
    # The public knowledge base (help centre) and its sitemap.
    path("kb/", include("kb.pages.urls")),
    path("", include("frontend.urls")),
]

# Django's own refusals (a body over DATA_UPLOAD_MAX_MEMORY_SIZE) answer JSON on the API.
handler400 = "foundation.api_errors.bad_request"
