"""Database-free tests, which the services pass of CI leaves out.

.ci/run runs the suite twice: on SQLite with the in-memory channel layer, then
on PostgreSQL + Redis. A test that reaches neither the database nor Redis does
the same thing in both passes, so `pytest --skip-database-free` (the second
pass) deselects it and says how many. A test is database-free when

- it is not marked `django_db`, `services` or `both_passes`, and no fixture
  it uses (directly or through other fixtures) opens the database or starts a
  server on the services: pytest-django refuses the database to every other
  test, so nothing that reaches the database in pass 2 can pass this filter;
- its module never names the service settings (`DATABASE_URL`, `REDIS_URL`,
  a connection's `vendor`), which a test could read without opening anything.

That includes the tests whose servers and commands run in child processes on
a SQLite file and the in-memory layer of their own (`embedded_server`,
`embedded_env`: tests/live_server.py leaves the service variables out of
their environment), the browser tests against them, and the coroutine tests
that only talk to such a server over its sockets: they do the same thing in
both passes. A coroutine test that drives consumers in the test process needs
the database, so it is never database-free.

Redis is also reached without the database, through the cache and the
channel layer; a connection object tells its vendor without a query; a child
process that inherits DATABASE_URL or REDIS_URL reaches the services. So in
every pass a database-free test fails, with a message saying to mark it
`both_passes`, when it touches the cache, the channel layer or a database
connection, or starts a process whose environment carries a service
variable. In pass 1 the test runs with stand-in values of those variables
in os.environ, so a child that would inherit the real ones in pass 2 carries
them: pass 1 proves the classification that pass 2 relies on.
"""

from __future__ import annotations

import os
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
# every test has the session-wide `django_db_blocker`, which opens nothing).
DATABASE_FIXTURES = frozenset(
    {
        "_django_db_helper",
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "admin_user",
        "live_server",
    }
)
# ... and those that start servers and clients that may reach the services.
SERVICE_FIXTURES = DATABASE_FIXTURES | {
    "django_user_model",
    "admin_client",
    "client",
    "async_client",
    "two_workers",
    "scaleout_services",
    "scaleout_template",
}
SERVICE_MARKERS = ("django_db", "services", "both_passes")
# Words in a test module that mean it may read the services' settings directly.
SERVICE_WORDS = ("DATABASE_URL", "REDIS_URL", "SERVICES_CONFIGURED", ".vendor")
# What selects the services; a child process that carries one reaches them.
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL")
# Pass 1's stand-ins for them while a database-free test runs (never answered).
STAND_INS = {
    "DATABASE_URL": "postgres://database-free-test@stand-in.invalid:5432/none",
    "REDIS_URL": "redis://stand-in.invalid:6379/0",
}

database_free_key = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        SKIP_OPTION,
        action="store_true",
        help="deselect tests that touch neither the database nor Redis"
        " (the PostgreSQL + Redis pass of CI; they ran in the SQLite pass)",
    )
    parser.addoption(
        ALONE_OPTION,
        choices=("include", "skip", "only"),
        default="include",
        help="tests marked `alone` (latency bounds under a burst): run them with the rest"
        " (include), leave them out (skip: the parallel run), or run only them (only:"
        " `make test` runs them after the parallel run, with the machine to themselves)",
    )


ALONE_OPTION = "--alone"


def select_alone(config: pytest.Config, items: list[pytest.Item]) -> None:
    mode = config.getoption(ALONE_OPTION)
    if mode == "include":
        return
    kept, dropped = [], []
    for item in items:
        alone = item.get_closest_marker("alone") is not None
        (kept if alone == (mode == "only") else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@cache
def _module_names_services(path: Path) -> bool:
    try:
        source = path.read_text()
    except OSError:
        return True
    return any(word in source for word in SERVICE_WORDS)


def uses_the_database(item: pytest.Item) -> bool:
    return bool(item.get_closest_marker("django_db")) or bool(
        DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    )


def is_database_free(item: pytest.Item) -> bool:
    if not isinstance(item, pytest.Function):
        return False
    if any(item.get_closest_marker(name) for name in SERVICE_MARKERS):
        return False
    if SERVICE_FIXTURES.intersection(item.fixturenames):
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
)
CHILD_WITH_SERVICES = "a child process with DATABASE_URL or REDIS_URL in its environment"


def _recording_children(original, touched: list[str]):
    @wraps(original)
    def init(self, args, *rest, **kwargs):
        environment = kwargs.get("env")
        environment = os.environ if environment is None else environment
        if any(environment.get(name) for name in SERVICE_VARIABLES):
            touched.append(CHILD_WITH_SERVICES)
        return original(self, args, *rest, **kwargs)

    return init


@contextmanager
def services_touched() -> Iterator[list[str]]:
    """The services the code in the block reached (from any thread), in order."""
    touched: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        for owner, name, what in WATCHED:
            patch.setattr(owner, name, _recording(getattr(owner, name), touched, what))
        patch.setattr(
            subprocess.Popen, "__init__", _recording_children(subprocess.Popen.__init__, touched)
        )
        yield touched


@contextmanager
def service_variables_standing_in() -> Iterator[None]:
    """DATABASE_URL and REDIS_URL set as pass 2 sets them, where this process has none."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in STAND_INS.items():
            if not os.environ.get(name):
                patch.setenv(name, value)
        yield


@pytest.fixture(autouse=True)
def _database_free_tests_stay_free(request):
    """Fail a database-free test that reaches what is Redis or PostgreSQL in pass 2."""
    if not request.node.stash.get(database_free_key, False):
        yield
        return
    with service_variables_standing_in(), services_touched() as touched:
        yield
    if touched:
        pytest.fail(
            f"{request.node.nodeid} uses {', '.join(sorted(set(touched)))} but no database"
            " fixture: in the PostgreSQL + Redis pass that reaches Redis or PostgreSQL,"
            f" and {SKIP_OPTION} would leave it out. Mark it @pytest.mark.both_passes.",
            pytrace=False,
        )
