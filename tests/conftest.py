"""Shared fixtures and the personas every app's tests share (departments, agents).

App-specific personas (customers, contracts) live next to the tests that use them.
"""

from __future__ import annotations

import inspect
import os
import uuid

import pytest
from django.db import connections
from django.utils import translation

import foundation.realtime as realtime
from tests.database_free import (  # noqa: F401  (hooks and fixtures are found by name)
    _database_free_tests_stay_free,
    classify_and_deselect,
    pytest_addoption,
    select_alone,
    uses_the_database,
)
from tests.factories import make_agent, make_department
from tests.postgresql_flush import flush_by_delete

SERVICES_CONFIGURED = bool(os.environ.get("DATABASE_URL")) and bool(os.environ.get("REDIS_URL"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        names = getattr(item, "fixturenames", None)
        if (
            inspect.iscoroutinefunction(getattr(item, "obj", None))
            and uses_the_database(item)
            and "_coalescer_settled" not in names
        ):
            names.append("_coalescer_settled")
    classify_and_deselect(config, items)
    select_alone(config, items)
    # Embedded runs (no DATABASE_URL/REDIS_URL at all) leave the multi-process
    # tests out; the scale-out CI pass sets both, and there they must run and
    # fail loudly if the services do not answer.
    if SERVICES_CONFIGURED or os.environ.get("DATABASE_URL") or os.environ.get("REDIS_URL"):
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("services") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def _coalescer_settled(_django_db_helper):
    # Set up after the database and torn down before it: a routing pass that
    # a socket's last frame started in a thread finishes before the test
    # database is flushed, instead of holding it locked. Sync on purpose: the
    # test's event loop is not running any more at teardown. Only for the
    # coroutine tests that use the database: those that only talk to a server
    # in a child process run no routing pass here and get no database.
    yield
    from chat.actions import scheduling

    scheduling.wait_for_running_pass()


@pytest.fixture(autouse=True, scope="session")
def _private_pubsub_prefix():
    # Redis pub/sub ignores the database number: another test session on the
    # same Redis (a second checkout, a benchmark) must not hear our doorbells.
    from django.conf import settings

    config = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    if "prefix" in config:
        config["prefix"] = f"{config['prefix']}{uuid.uuid4().hex[:8]}."
    yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, with this process's stray sessions ended before the drop.

    The executor threads of the coroutine tests keep the connections they
    opened (tests/settings.py), and PostgreSQL refuses to drop a database that
    has sessions ("is being accessed by other users"): the test database was
    left behind.
    """
    yield
    with django_db_blocker.unblock():
        connection = connections["default"]
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(autouse=True, scope="session")
def _flush_by_delete_on_postgresql():
    with flush_by_delete():
        yield


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    # LocaleMiddleware activates a request's language in the calling thread and nothing
    # deactivates it: a test that fetched a Russian page left Russian active for the next
    # test in the same process (under xdist, whichever that was).
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _outbox_sends_in_the_committing_thread(settings):
    # Tests read mail.outbox right after the on-commit callbacks ran; a sender
    # thread would race the test database. The outbox tests choose "thread".
    settings.CHATPORTAL_EMAIL_AFTER_COMMIT = "inline"


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    # Every async test runs in its own event loop. channels-redis keeps a
    # receive lock on the layer object, and a consumer left reading when an
    # earlier test's loop closed leaves it bound to that dead loop; a layer
    # per test keeps tests from sharing one (a server process has one loop).
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _check_published_events_serialize():
    # Everything published must survive msgpack, as it would in channels-redis.
    realtime.CHECK_SERIALIZABLE = True
    yield
    realtime.CHECK_SERIALIZABLE = False


class PublishedEvents(list):
    """(group, event) pairs that actions published, read after their commit.

    In a test wrapped in a transaction nothing really commits, so reading the
    list first runs the on-commit callbacks registered since the last read
    (what `captureOnCommitCallbacks(execute=True)` does, but at the moment of
    the assertion rather than at the end of the test).
    """

    def __init__(self, using: str = "default"):
        super().__init__()
        self._connection = connections[using]
        self._seen = len(self._connection.run_on_commit)

    def flush(self) -> None:
        while len(self._connection.run_on_commit) > self._seen:
            pending = self._connection.run_on_commit[self._seen :]
            self._seen = len(self._connection.run_on_commit)
            for _sids, func, _robust in pending:
                func()

    def __iter__(self):
        self.flush()
        return super().__iter__()

    def __len__(self):
        self.flush()
        return super().__len__()

    def __getitem__(self, index):
        self.flush()
        return super().__getitem__(index)

    def __eq__(self, other):
        self.flush()
        return list(super().__iter__()) == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self):
        self.flush()
        return super().__repr__()


@pytest.fixture
def published_events(monkeypatch):
    """What actions publish, with their on-commit callbacks executed."""
    sent = PublishedEvents()
    monkeypatch.setattr(
        realtime, "send_now", lambda group, event: list.append(sent, (group, event))
    )
    return sent


# --- personas ----------------------------------------------------------------------


@pytest.fixture
def support(db):
    return make_department("support", name="Support")


@pytest.fixture
def sales(db):
    return make_department("sales", name="Sales")


@pytest.fixture
def support_agent(support):
    user = make_agent("boris", [support], first_name="Boris")
    user.email = "boris@example.com"
    user.save()
    return user


@pytest.fixture
def sales_agent(sales):
    """Must not see support's conversations or tickets."""
    return make_agent("sara", [sales], first_name="Sara")


@pytest.fixture
def supervisor(support):
    return make_agent("victor", [], is_supervisor=True, first_name="Victor")


@pytest.fixture
def operator(db):
    """A superuser working in /admin/."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", "root@example.com", "x-pass-123")


@pytest.fixture
def admin_client(client, operator):
    client.force_login(operator)
    return client
