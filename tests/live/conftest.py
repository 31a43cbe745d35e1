import pytest
from django.db import connections


@pytest.fixture(autouse=True)
def _no_lingering_connections():
    """The live hub reads from threads of its own (a pool on PostgreSQL): with CONN_MAX_AGE 0 each
    such connection is closed after its call, so none is left open when the test database goes."""
    settings = connections.settings["default"]
    kept = settings.get("CONN_MAX_AGE", 0)
    settings["CONN_MAX_AGE"] = 0
    yield
    settings["CONN_MAX_AGE"] = kept
