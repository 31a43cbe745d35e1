"""Admin sign-in lockout (django-axes, docs/admin.md) and /metrics' protection in production."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from oms_project.kernel.metrics import ADMIN_LOCKOUTS, ADMIN_LOGIN_FAILURES

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a-long-staff-password-1"


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)


def sign_in(client, password: str, address: str = "10.0.0.1"):
    return client.post("/admin/login/?next=/admin/", {"username": "staff", "password": password}, REMOTE_ADDR=address)


def test_five_wrong_passwords_lock_the_username_from_that_address(client, staff, settings, caplog):
    settings.AXES_FAILURE_LIMIT = 5
    failures, lockouts = ADMIN_LOGIN_FAILURES._value.get(), ADMIN_LOCKOUTS._value.get()
    for _ in range(4):
        assert sign_in(client, "wrong").status_code == 200  # the form again, with its error
    with caplog.at_level(logging.WARNING, logger="oms.admin"):
        locked = sign_in(client, "wrong")
        assert locked.status_code == 429 and b"Sign-in locked" in locked.content
        right = sign_in(client, PASSWORD)  # the right password, still locked
    assert right.status_code == 429 and b"Sign-in locked" in right.content
    assert "_auth_user_id" not in client.session
    assert ADMIN_LOGIN_FAILURES._value.get() >= failures + 5
    assert ADMIN_LOCKOUTS._value.get() >= lockouts + 1
    assert any("locked out" in r.getMessage() and "10.0.0.1" in r.getMessage() for r in caplog.records)
    assert not any(PASSWORD in r.getMessage() for r in caplog.records)
    # Another address is not locked out.
    assert sign_in(client, PASSWORD, address="10.0.0.2").status_code == 302


def test_a_successful_sign_in_clears_the_count(client, staff, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(4):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert sign_in(client, "wrong").status_code == 200
    assert sign_in(client, PASSWORD).status_code == 302


def test_the_api_is_not_behind_the_lockout(client, staff, settings, gql, tenant):
    from tests.tokens import hs_token

    settings.AXES_FAILURE_LIMIT = 1
    assert sign_in(client, "wrong").status_code == 429
    assert gql.post("{ me { userId } }", token=hs_token(tenant, sub="staff", roles=["staff"])).status_code == 200


def start_wsgi(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OMS_METRICS") and k != "DEBUG"}
    clean.update(env, DJANGO_SETTINGS_MODULE="oms_project.settings", SECRET_KEY="k" * 50)
    return subprocess.run(
        [sys.executable, "-c", "import oms_project.wsgi"], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_production_does_not_start_with_metrics_open_to_anyone(settings):
    """The WSGI module refuses to load (one process, to show the check is wired); the rule's other
    cases in-process."""
    from django.core.exceptions import ImproperlyConfigured

    from oms_project.kernel.metrics import require_metrics_protection

    refused = start_wsgi()
    assert refused.returncode != 0 and "OMS_METRICS_TOKEN" in refused.stderr
    settings.DEBUG, settings.OMS_METRICS_TOKEN, settings.OMS_METRICS_PUBLIC = False, "", False
    with pytest.raises(ImproperlyConfigured, match="OMS_METRICS_TOKEN"):
        require_metrics_protection()
    for setting, value in (("OMS_METRICS_TOKEN", "scrape"), ("OMS_METRICS_PUBLIC", True), ("DEBUG", True)):
        with settings_changed(settings, **{setting: value}):
            require_metrics_protection()  # development (DEBUG) is open, as before


@contextmanager
def settings_changed(settings, **values):
    before = {name: getattr(settings, name) for name in values}
    for name, value in values.items():
        setattr(settings, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(settings, name, value)
