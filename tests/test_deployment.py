"""The deployment files: what docker-compose and the Dockerfile run, and gunicorn with
gunicorn.conf.py serving the app (PostgreSQL: a real server process on the test database)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from .conftest import database_url_for_subprocesses, free_port, requires_postgres

ROOT = Path(__file__).resolve().parent.parent


def test_compose_runs_the_database_nats_the_migrating_app_and_the_relay():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert set(services) == {"db", "nats", "app", "relay"}
    assert "-js" in services["nats"]["command"]
    assert services["relay"]["environment"]["OMS_EVENT_STREAM_URL"].endswith("nats://nats:4222}")
    app, relay = services["app"], services["relay"]
    assert re.search(r"migrate --noinput &&\s+exec gunicorn -c gunicorn.conf.py", app["command"])
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert relay["command"][-1] == "relay_events" and relay["deploy"]["replicas"] >= 2
    assert relay["depends_on"]["app"]["condition"] == "service_healthy"
    assert app["environment"]["DATABASE_URL"] == relay["environment"]["DATABASE_URL"]


def test_the_image_is_multi_stage_and_runs_gunicorn_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) == 2
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py"' in dockerfile
    assert "/readyz" in dockerfile


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_gunicorn_with_its_config_serves_and_sums_every_workers_metrics(tmp_path):
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "oms_project.settings_test", "WEB_CONCURRENCY": "2",
           "PORT": str(port), "GUNICORN_BIND": f"127.0.0.1:{port}", "ALLOWED_HOSTS": "127.0.0.1",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"), "LOG_LEVEL": "WARNING",
           "DATABASE_URL": database_url_for_subprocesses(), "OMS_METRICS_TOKEN": "scrape-token"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "oms_project.wsgi:application"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                ready = urllib.request.urlopen(f"{base}/readyz", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn never became ready")
        assert ready.status == 200 and ready.headers["X-Request-ID"]
        for _ in range(20):
            urllib.request.urlopen(f"{base}/healthz", timeout=2)
        scrape = urllib.request.Request(f"{base}/metrics", headers={"Authorization": "Bearer scrape-token"})
        body = urllib.request.urlopen(scrape, timeout=2).read().decode()
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    ok = [s.value for f in text_string_to_metric_families(body) for s in f.samples
          if s.name == "django_http_responses_total_by_status_total" and s.labels == {"status": "200"}]
    assert ok and ok[0] >= 21  # /readyz and 20 x /healthz, whichever worker answered them
    assert server.returncode == 0
