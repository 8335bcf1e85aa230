"""Settings from environment variables, with safe defaults for the embedded mode.

Embedded mode (nothing set): SQLite in the data directory, in-memory channel
layer, local-memory cache. Scale-out: DATABASE_URL (PostgreSQL) and REDIS_URL.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from foundation.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("CHATPORTAL_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _embedded_secret_key() -> str:
    # Embedded mode keeps a generated key in the data directory, so sessions
    # survive restarts without anyone having to invent a secret.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("CHATPORTAL_SECRET_KEY") or _embedded_secret_key()
DEBUG = env_bool("CHATPORTAL_DEBUG", False)
ALLOWED_HOSTS = env_list("CHATPORTAL_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CHATPORTAL_CSRF_TRUSTED_ORIGINS")

# Sites allowed to embed the widget; their WebSocket handshakes to /ws/widget/
# are admitted. Every other socket path admits only our own hosts.
CHATPORTAL_WIDGET_ORIGINS = env_list("CHATPORTAL_WIDGET_ORIGINS")
CHATPORTAL_PRESENCE_TTL_S = int(os.environ.get("CHATPORTAL_PRESENCE_TTL_S", "30"))
# After an agent's last socket is gone (closed, or silent past the TTL), how
# long before its chats are requeued: a reload or a network blip costs nothing.
CHATPORTAL_PRESENCE_GRACE_S = int(os.environ.get("CHATPORTAL_PRESENCE_GRACE_S", "15"))
# How long the rating links of a solved ticket's mail work (tickets.rating).
CHATPORTAL_RATING_LINK_MAX_AGE_S = int(
    os.environ.get("CHATPORTAL_RATING_LINK_MAX_AGE_S", str(30 * 24 * 3600))
)
# Every worker runs the periodic sweep (presence, offers, automatic tickets,
# SLA warnings and breaches) from start-up; 0 = a third of the TTL, 1-5 s.
CHATPORTAL_SWEEP_INTERVAL_S = float(os.environ.get("CHATPORTAL_SWEEP_INTERVAL_S", "0"))
CHATPORTAL_IDENTITY_SECRET = os.environ.get("CHATPORTAL_IDENTITY_SECRET", "")
# When set, identity JWTs must carry this `aud` (chat/identity.py).
CHATPORTAL_IDENTITY_AUDIENCE = os.environ.get("CHATPORTAL_IDENTITY_AUDIENCE", "")
CHATPORTAL_DEFAULT_REGION = os.environ.get("CHATPORTAL_DEFAULT_REGION", "RO")
# The site's address as users reach it (https://chat.example.com). Unset: links
# in answers point at the server that answered, e-mails at a fallback, and
# socket Origins are compared with it too (foundation/public_url.py, origins.py).
CHATPORTAL_PUBLIC_URL = os.environ.get("CHATPORTAL_PUBLIC_URL", "")
# Inbound e-mail from an MTA (POST /api/v1/inbound-email): the shared secret
# in X-Chatportal-Inbound-Secret; unset turns the endpoint off.
CHATPORTAL_INBOUND_EMAIL_SECRET = os.environ.get("CHATPORTAL_INBOUND_EMAIL_SECRET", "")
# Providers' inbound webhooks (django-anymail, /anymail/<provider>/inbound/): the
# HTTP basic auth "user:password" put in the webhook URL; unset turns them off.
# Mailgun also signs its posts: its webhook signing key is required for it.
ANYMAIL: dict[str, str] = {}
if os.environ.get("CHATPORTAL_INBOUND_WEBHOOK_SECRET"):
    ANYMAIL["WEBHOOK_SECRET"] = os.environ["CHATPORTAL_INBOUND_WEBHOOK_SECRET"]
if os.environ.get("CHATPORTAL_MAILGUN_WEBHOOK_SIGNING_KEY"):
    ANYMAIL["MAILGUN_WEBHOOK_SIGNING_KEY"] = os.environ["CHATPORTAL_MAILGUN_WEBHOOK_SIGNING_KEY"]
# The department new e-mail tickets land in (slug), and the address replies thread to.
CHATPORTAL_EMAIL_DEPARTMENT = os.environ.get("CHATPORTAL_EMAIL_DEPARTMENT", "support")
CHATPORTAL_SUPPORT_ADDRESS = os.environ.get("CHATPORTAL_SUPPORT_ADDRESS", "")
# A message left while nobody is online during business hours becomes a ticket
# at once (true) or waits for an agent until the department's auto_ticket_after_s
# (false). Outside business hours it always becomes a ticket at once.
CHATPORTAL_TICKET_WHEN_NOBODY_ONLINE = env_bool("CHATPORTAL_TICKET_WHEN_NOBODY_ONLINE", False)
# The requester hears that their ticket was opened, whatever opened it
# (tickets/notifications/outbound.py: compose_acknowledgement).
CHATPORTAL_TICKET_ACKNOWLEDGEMENTS = env_bool("CHATPORTAL_TICKET_ACKNOWLEDGEMENTS", True)
# Signed portal links in mails (a ticket's page, confirming an address) and in
# the widget for identified visitors: how long they work (tickets/links.py).
CHATPORTAL_TICKET_LINK_MAX_AGE_S = int(
    os.environ.get("CHATPORTAL_TICKET_LINK_MAX_AGE_S", str(7 * 24 * 3600))
)
CHATPORTAL_WIDGET_LINK_MAX_AGE_S = int(os.environ.get("CHATPORTAL_WIDGET_LINK_MAX_AGE_S", "900"))
# SLA: the plan for contacts without an active contract, and the warning lead time.
CHATPORTAL_DEFAULT_SLA = os.environ.get("CHATPORTAL_DEFAULT_SLA", "Standard")
CHATPORTAL_SLA_WARN_BEFORE_S = int(os.environ.get("CHATPORTAL_SLA_WARN_BEFORE_S", "1800"))
# /metrics: a bearer token for Prometheus; unset, only direct loopback scrapes (foundation/metrics.py).
CHATPORTAL_METRICS_TOKEN = os.environ.get("CHATPORTAL_METRICS_TOKEN", "")
# Each /readyz check (database, channel layer) must answer within this time.
CHATPORTAL_READY_TIMEOUT_S = float(os.environ.get("CHATPORTAL_READY_TIMEOUT_S", "2"))
# Chat and ticket attachments: the largest file accepted (foundation/uploads.py).
CHATPORTAL_ATTACHMENT_MAX_BYTES = int(
    os.environ.get("CHATPORTAL_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))
)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "channels",
    # Only for the staff API docs page: its template and bundled Swagger UI files.
    "ninja",
    "chatportal",
    "crm",
    "queues",
    "chat",
    "tickets",
    "integrations",
    "kb",
    "reports",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "chatportal.input_guard.reject_nul_middleware",
    "chatportal.input_guard.reject_unparseable_multipart_middleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The viewer's zone and stored language (after auth: it reads the user).
    "chatportal.viewer_middleware.viewer_middleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "chatportal.urls"
ASGI_APPLICATION = "chatportal.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'chatportal.sqlite3'}",
        conn_max_age=int(os.environ.get("CHATPORTAL_DB_CONN_MAX_AGE", "0")),
    )
}
# On by default: without a pool every database hop of a worker opens a new
# connection, and one worker at 400 messages/s falls seconds behind where the
# same worker with a pool keeps up. 0 turns it off (e.g. behind PgBouncer).
# Sized from what can hold a connection at once in a worker: the per-message
# hops run on asyncio's default executor (min(32, cpus + 4) threads, the
# formula of concurrent.futures.ThreadPoolExecutor) plus the one shared sync
# thread; every HTTP view runs on a thread of its own, and a pool smaller than
# the requests in flight starved the sockets' thread in the portal benchmark
# (PoolTimeout with 10), so twice as many again is left for requests: 21 on
# 2 cores, 39 on 8.
DB_HOP_THREADS = min(32, (os.cpu_count() or 1) + 4) + 1
DB_POOL_MAX_SIZE = int(os.environ.get("CHATPORTAL_DB_POOL_MAX_SIZE") or 3 * DB_HOP_THREADS)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DB_POOL_MAX_SIZE > 0:
    # Under ASGI every HTTP request runs its view in a thread of its own, so a
    # persistent connection (CONN_MAX_AGE > 0) stays open with a finished
    # thread until it is collected (measured: 61 connections left by 100
    # PATCHes). A pool hands connections back when a request or hop ends.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        # Open up front what a burst of messages needs at once (every hop
        # thread); the pool only grows one connection at a time while callers wait.
        "min_size": min(DB_POOL_MAX_SIZE, DB_HOP_THREADS),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": 10,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the sync thread and a second process share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

REDIS_URL = os.environ.get("REDIS_URL", "")
# Several deployments (or test sessions) may share one Redis: a prefix keeps
# their channel-layer groups and cache keys apart.
REDIS_PREFIX = os.environ.get("CHATPORTAL_REDIS_PREFIX", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub: one PUBLISH per doorbell, one subscription per group and
            # worker, no capacity to overflow (foundation/channel_layer.py).
            "BACKEND": "foundation.channel_layer.DoorbellChannelLayer",
            "CONFIG": {
                # redis-py caps an asyncio pool at 100 connections
                # (docs/decisions/pitfalls.md#redis-connection-pool-cap).
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": 1000,
                        "socket_timeout": 15,
                        "socket_connect_timeout": 5,
                    }
                ],
                "prefix": f"{REDIS_PREFIX}asgi",
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": REDIS_PREFIX,
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 5000}}
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Behind a proxy every client has the proxy's address: rate limits per client
# (sign-ins, e-mail links) then need the proxy's X-Forwarded-For (its last entry).
CHATPORTAL_TRUST_X_FORWARDED_FOR = env_bool("CHATPORTAL_TRUST_X_FORWARDED_FOR", False)
# LoginThrottle only refuses a username or client that failed too often; ModelBackend signs in.
AUTHENTICATION_BACKENDS = [
    "chatportal.login_throttle.LoginThrottle",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ro", _("Romanian")), ("ru", _("Russian"))]
# Inside the chatportal package, so wheels and the image ship the compiled catalogs.
LOCALE_PATHS = [BASE_DIR / "chatportal" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Embedded mode serves static files straight from the apps (no collectstatic step).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "media"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/console/"
LOGOUT_REDIRECT_URL = "/"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and env_bool("CHATPORTAL_HTTPS", False):
    SECURE_SSL_REDIRECT = env_bool("CHATPORTAL_SSL_REDIRECT", True)
    # Probes and scrapes talk plain HTTP to the worker itself.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("CHATPORTAL_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

EMAIL_BACKEND = os.environ.get(
    "CHATPORTAL_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("CHATPORTAL_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("CHATPORTAL_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("CHATPORTAL_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("CHATPORTAL_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("CHATPORTAL_EMAIL_USE_TLS", False)
# Implicit TLS (port 465); Django refuses it together with EMAIL_USE_TLS.
EMAIL_USE_SSL = env_bool("CHATPORTAL_EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    # Said at start-up, not by every mail failing later in the outbox.
    raise ImproperlyConfigured("set CHATPORTAL_EMAIL_USE_TLS or CHATPORTAL_EMAIL_USE_SSL, not both")
# Seconds one SMTP connect/command may take: a hanging relay costs the
# background sender this much, never a request (tickets/email/sending.py).
EMAIL_TIMEOUT = float(os.environ.get("CHATPORTAL_EMAIL_TIMEOUT", "10"))
# Outbox retries: attempts before a mail is given up ("not delivered" on the
# ticket) and the first delay, doubled after each failure.
CHATPORTAL_EMAIL_MAX_ATTEMPTS = int(os.environ.get("CHATPORTAL_EMAIL_MAX_ATTEMPTS", "8"))
CHATPORTAL_EMAIL_RETRY_BASE_S = float(os.environ.get("CHATPORTAL_EMAIL_RETRY_BASE_S", "60"))
# After a commit the process's sender thread sends at once ("thread"); the
# test suite sends in the committing thread ("inline") or not at all ("off").
CHATPORTAL_EMAIL_AFTER_COMMIT = "thread"
# Outgoing webhooks (integrations/sending.py): seconds a receiver may take,
# attempts before a delivery is given up, and the first retry delay, doubled
# after each failure (30 s, 1 min, 2 min, ... capped at 6 h).
CHATPORTAL_WEBHOOK_TIMEOUT_S = float(os.environ.get("CHATPORTAL_WEBHOOK_TIMEOUT_S", "10"))
CHATPORTAL_WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("CHATPORTAL_WEBHOOK_MAX_ATTEMPTS", "10"))
CHATPORTAL_WEBHOOK_RETRY_BASE_S = float(os.environ.get("CHATPORTAL_WEBHOOK_RETRY_BASE_S", "30"))
# As CHATPORTAL_EMAIL_AFTER_COMMIT: "thread" in production, "inline"/"off" in tests.
CHATPORTAL_WEBHOOK_AFTER_COMMIT = "thread"
DEFAULT_FROM_EMAIL = os.environ.get("CHATPORTAL_EMAIL_FROM", "support@chatportal.localhost")

# Text or one JSON object per line, each with the request/connection id (foundation/logs.py).
LOGGING = logging_config(
    log_format=os.environ.get("CHATPORTAL_LOG_FORMAT", "text"),
    level=os.environ.get("CHATPORTAL_LOG_LEVEL", "INFO"),
)
