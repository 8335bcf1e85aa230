"""Database-free tests, which the services pass of CI leaves out.

.ci/run runs the suite twice: on SQLite with the in-memory channel layer, then
on PostgreSQL + Redis. A test that reaches neither the database nor Redis does
the same thing in both passes, so `pytest --skip-database-free` (the second
pass) deselects it and says how many. A test is database-free when

- it is not marked `django_db`, `services`, `browser` or `both_passes`, and no
  fixture it uses (directly or through other fixtures) opens the database or
  starts a server: pytest-django refuses the database to every other test, so
  nothing that reaches the database in pass 2 can pass this filter;
- it is a plain function: coroutine tests drive consumers and the channel
  layer, which is Redis in pass 2;
- its module never names the service settings (`DATABASE_URL`, `REDIS_URL`,
  a connection's `vendor`), which a test could read without opening anything.

Redis is also reached without the database, through the cache and the
channel layer; a connection object tells its vendor without a query; child
processes inherit DATABASE_URL. So in every pass a database-free test that
touches the cache, the channel layer, a database connection or a child
process fails, with a message saying to mark it `both_passes`: pass 1 proves
the classification that pass 2 relies on.
"""

from __future__ import annotations

import inspect
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache, wraps
from pathlib import Path

import pytest
from channels.layers import ChannelLayerManager
from django.core.cache import CacheHandler
from django.db.utils import ConnectionHandler

SKIP_OPTION = "--skip-database-free"

# Fixtures that open the database (pytest-django's and ours: everything that
# reaches the database goes through `db`/`transactional_db` or their helper;
# every test has the session-wide `django_db_blocker`, which opens nothing)
# or start servers and clients that may.
SERVICE_FIXTURES = frozenset(
    {
        "_django_db_helper",
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "django_user_model",
        "admin_user",
        "admin_client",
        "client",
        "async_client",
        "live_server",
        "embedded_server",
        "embedded_template",
        "two_workers",
        "scaleout_services",
        "scaleout_template",
    }
)
SERVICE_MARKERS = ("django_db", "services", "browser", "both_passes")
# Words in a test module that mean it may read the services' settings directly.
SERVICE_WORDS = ("DATABASE_URL", "REDIS_URL", "SERVICES_CONFIGURED", ".vendor")

database_free_key = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        SKIP_OPTION,
        action="store_true",
        help="deselect tests that touch neither the database nor Redis"
        " (the PostgreSQL + Redis pass of CI; they ran in the SQLite pass)",
    )


@cache
def _module_names_services(path: Path) -> bool:
    try:
        source = path.read_text()
    except OSError:
        return True
    return any(word in source for word in SERVICE_WORDS)


def is_database_free(item: pytest.Item) -> bool:
    if not isinstance(item, pytest.Function):
        return False
    if any(item.get_closest_marker(name) for name in SERVICE_MARKERS):
        return False
    if SERVICE_FIXTURES.intersection(item.fixturenames):
        return False
    if inspect.iscoroutinefunction(item.obj):
        return False
    return not _module_names_services(Path(item.path))


def classify_and_deselect(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the database-free items; with --skip-database-free, deselect them."""
    kept, dropped = [], []
    for item in items:
        free = is_database_free(item)
        item.stash[database_free_key] = free
        (dropped if free else kept).append(item)
    if not config.getoption(SKIP_OPTION) or not dropped:
        return
    config.hook.pytest_deselected(items=dropped)
    items[:] = kept
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    message = (
        f"{SKIP_OPTION}: deselected {len(dropped)} database-free tests (no database,"
        " cache, channel layer or child process; they ran in the SQLite pass),"
        f" kept {len(kept)}"
    )
    if reporter is not None:
        reporter.write_line(message, bold=True)


def _recording(original, touched: list[str], what: str):
    @wraps(original)
    def wrapper(*args, **kwargs):
        touched.append(what)
        return original(*args, **kwargs)

    return wrapper


# What is PostgreSQL or Redis in the services pass, reached without the database fixtures.
WATCHED = (
    (CacheHandler, "__getitem__", "the cache"),
    (ChannelLayerManager, "__getitem__", "the channel layer"),
    (ConnectionHandler, "__getitem__", "a database connection"),
    (subprocess.Popen, "__init__", "a child process"),
)


@contextmanager
def services_touched() -> Iterator[list[str]]:
    """The services the code in the block reached (from any thread), in order."""
    touched: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        for owner, name, what in WATCHED:
            patch.setattr(owner, name, _recording(getattr(owner, name), touched, what))
        yield touched


@pytest.fixture(autouse=True)
def _database_free_tests_stay_free(request):
    """Fail a database-free test that reaches what is Redis or PostgreSQL in pass 2."""
    if not request.node.stash.get(database_free_key, False):
        yield
        return
    with services_touched() as touched:
        yield
    if touched:
        pytest.fail(
            f"{request.node.nodeid} uses {', '.join(sorted(set(touched)))} but no database"
            " fixture: in the PostgreSQL + Redis pass that reaches Redis or PostgreSQL,"
            f" and {SKIP_OPTION} would leave it out. Mark it @pytest.mark.both_passes.",
            pytrace=False,
        )
