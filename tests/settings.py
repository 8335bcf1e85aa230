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

from chatportal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
