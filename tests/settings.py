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

import sys

from chatportal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

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
