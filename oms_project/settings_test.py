"""Settings for the test suite: the real settings, with a throwaway key and fast hashing."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-any-deployment")

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The suite's webhook receivers listen on this machine over plain http (tests of the destination
# rules override these).
OMS_WEBHOOK_ALLOW_HTTP = True
OMS_WEBHOOK_ALLOWED_DESTINATIONS = ["127.0.0.1"]
