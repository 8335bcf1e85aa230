"""Settings for the test suite: chatportal.settings with a fast password hasher.

PBKDF2 at full strength costs about half a second per password, and the suite
hashes one for every agent and customer it creates. MD5 is Django's advice for
tests. This module lives in tests/, outside the installed package, so no
deployment can select it; production keeps Django's default hashers.

The daphne workers and `chatportal` commands the suite starts
(tests/live_server.py) get this module through DJANGO_SETTINGS_MODULE too:
they must verify the passwords the test process hashes, and hash the ones it
verifies.
"""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit


def _own_services_per_xdist_worker() -> None:
    """Under pytest-xdist (`make test` runs `-n 2`), each worker its own data directory and Redis db.

    Tests clear the cache, and Django's RedisCache.clear() is a FLUSHDB: on a
    shared database one worker would wipe the other's rate limits and presence
    in the middle of a test. The PostgreSQL test database is per worker already
    (pytest-django suffixes its name with the worker id). Set before the
    production settings read the environment.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ...
    # The workers and commands a test starts inherit the variable, and their own
    # CHATPORTAL_DATA_DIR and REDIS_URL from the test: they must keep them.
    if not worker or "pytest" not in sys.modules:
        return
    data_dir = Path(os.environ.get("CHATPORTAL_DATA_DIR", "var")) / f"xdist-{worker}"
    os.environ["CHATPORTAL_DATA_DIR"] = str(data_dir)
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        parts = urlsplit(redis_url)
        db = (int(parts.path.strip("/") or 0) + int(worker.removeprefix("gw"))) % 16
        os.environ["REDIS_URL"] = parts._replace(path=f"/{db}").geturl()


_own_services_per_xdist_worker()

from chatportal.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests that count a ticket's mails count the ones they are about; the
# acknowledgement's own tests (tests/tickets/test_acknowledgement.py) turn it on.
# A live server's test turns it on through its environment.
CHATPORTAL_TICKET_ACKNOWLEDGEMENTS = os.environ.get("CHATPORTAL_TICKET_ACKNOWLEDGEMENTS") == "true"

# The test runner process itself runs without the PostgreSQL connection pool
# (the workers it starts keep the production default, pool on). Every async
# test gets a fresh event loop and with it fresh executor threads, and each of
# those threads keeps the connection it checked out once the test is over: in
# a worker that happens once per process, in the suite once per test, so a
# pool of 20 runs dry after a few dozen socket tests ("couldn't get a
# connection after 10 s"). The pool's own behaviour is covered by
# tests/chatportal/test_db_pool.py and by every multi-process test.
if "pytest" in sys.modules:
    DATABASES["default"].get("OPTIONS", {}).pop("pool", None)  # noqa: F405
