"""Settings of the Channels-tutorial baseline: what a user would write, one app, one model.

DATABASE_URL (PostgreSQL) and REDIS_URL select the services; TUTORIAL_REDIS_PREFIX
keeps the channel layer's keys apart from everyone else's on a shared Redis.
"""

import os

import dj_database_url

SECRET_KEY = os.environ.get("TUTORIAL_SECRET_KEY", "tutorial-baseline-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["channels", "bench.baselines.tutorial"]
ROOT_URLCONF = "bench.baselines.tutorial.urls"
ASGI_APPLICATION = "bench.baselines.tutorial.asgi.application"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Persistent connections, as Django's deployment checklist advises: without
# them every database_sync_to_async call would open a new PostgreSQL connection.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ["DATABASE_URL"],
        conn_max_age=int(os.environ.get("TUTORIAL_CONN_MAX_AGE", "60")),
    )
}
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_PREFIX = os.environ.get("TUTORIAL_REDIS_PREFIX", "tutorial:")
# The tutorial's layer with its default pool, plus the two fixes a user meets first at
# this scale:
# - redis-py >= 8 gives up reading after 5 s by default, exactly channels-redis's 5 s
#   blocking pop, so on a busy process the pop times out, the receive loop dies and daphne
#   closes every socket (1011);
# - the default capacity of 100 is shared by every socket of a process: opening 500
#   conversations overflowed it (ChannelFull on the offer to an agent, the visitor's socket
#   closed). group_send still drops silently when a process falls 2,000 messages behind.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
            "prefix": REDIS_PREFIX,
            "capacity": 2000,
        },
    }
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
