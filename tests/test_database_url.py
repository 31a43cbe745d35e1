"""`DATABASE_URL` with several hosts (oms_project/kernel/database_url.py): parsed into libpq's
host and port lists, and a process whose first host is down connects to the next and serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from oms_project.kernel import database_url

from .conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_one_host_is_parsed_as_before():
    config = database_url.parse("postgres://u:p@db.example:5433/oms?connect_timeout=3", conn_max_age=60)
    assert (config["HOST"], config["PORT"], config["NAME"], config["USER"], config["PASSWORD"]) == (
        "db.example",
        5433,
        "oms",
        "u",
        "p",
    )
    assert config["OPTIONS"] == {"connect_timeout": 3} and config["CONN_MAX_AGE"] == 60


def test_several_hosts_become_libpqs_lists():
    config = database_url.parse(
        "postgres://oms:secret@db-a:6432,[::1]:5433,db-c/orders?target_session_attrs=read-write&connect_timeout=3"
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"]) == ("db-a,::1,db-c", "6432,5433,6432")  # a bare host takes the first port
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("orders", "oms", "secret")
    assert config["OPTIONS"] == {"target_session_attrs": "read-write", "connect_timeout": 3}
    assert database_url.parse("postgres://db-a,db-b/oms")["PORT"] == "5432,5432"


def test_a_host_list_with_an_empty_name_is_refused():
    with pytest.raises(ValueError, match="every host"):
        database_url.parse("postgres://u@db-a:5432,:5433/oms")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)")
def test_a_process_whose_first_host_is_down_serves_from_the_next(db):
    """What a worker does after a failover: libpq skips the host that refuses and takes the one
    that accepts a read-write session."""
    settings_dict = connection.settings_dict
    user = settings_dict["USER"] or "postgres"
    host, port = settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432)
    url = (
        f"postgres://{user}@127.0.0.1:{free_port()},{host}:{port}"
        f"/{settings_dict['NAME']}?target_session_attrs=read-write&connect_timeout=3"
    )
    probe = (
        "import json, oms_project.wsgi; from django.test import Client; from django.db import connection; "
        "answer = Client().get('/readyz'); "
        "print(json.dumps([answer.status_code, connection.connection.info.port, connection.connection.info.host]))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="oms_project.settings", SECRET_KEY="k" * 50)
    env.update(OMS_METRICS_PUBLIC="1", ALLOWED_HOSTS="testserver")
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    status, answered_port, answered_host = json.loads(result.stdout.strip().splitlines()[-1])
    assert (status, answered_port, answered_host) == (200, port, host)


def test_listen_connects_where_database_listen_url_says(settings):
    from oms_project.kernel.listen import listen_params

    settings.DATABASE_LISTEN_URL = "postgres://oms:pw@db-a:5432,db-b:5433/orders?target_session_attrs=read-write"
    assert listen_params() == {
        "dbname": "orders",
        "user": "oms",
        "password": "pw",
        "host": "db-a,db-b",
        "port": "5432,5433",
        "target_session_attrs": "read-write",
    }
    settings.DATABASE_LISTEN_URL = "off"
    assert listen_params() is None
