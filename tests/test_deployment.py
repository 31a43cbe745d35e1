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


def test_compose_runs_the_database_nats_redis_the_migrating_app_and_the_relay():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert set(services) == {"db", "nats", "redis", "app", "relay", "live"}
    # Every app replica admits against one budget (oms_project/admission).
    assert services["app"]["environment"]["OMS_RATE_LIMIT_REDIS_URL"].endswith("redis://redis:6379/0}")
    assert "-js" in services["nats"]["command"]
    assert services["relay"]["environment"]["OMS_EVENT_STREAM_URL"].endswith("nats://nats:4222}")
    app, relay = services["app"], services["relay"]
    assert re.search(r"migrate --noinput &&\s+exec gunicorn -c gunicorn.conf.py", app["command"])
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    assert relay["command"][-1] == "relay_events" and relay["deploy"]["replicas"] >= 2
    assert relay["depends_on"]["app"]["condition"] == "service_healthy"
    assert app["environment"]["DATABASE_URL"] == relay["environment"]["DATABASE_URL"]
    live = services["live"]
    assert live["command"][:2] == ["uvicorn", "oms_project.asgi:application"]
    assert live["environment"]["DATABASE_URL"] == app["environment"]["DATABASE_URL"]
    assert live["depends_on"]["app"]["condition"] == "service_healthy"


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
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms_project.settings_test",
        "WEB_CONCURRENCY": "2",
        "PORT": str(port),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url_for_subprocesses(),
        "OMS_METRICS_TOKEN": "scrape-token",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "oms_project.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
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
    ok = [
        s.value
        for f in text_string_to_metric_families(body)
        for s in f.samples
        if s.name == "django_http_responses_total_by_status_total" and s.labels == {"status": "200"}
    ]
    assert ok and ok[0] >= 21  # /readyz and 20 x /healthz, whichever worker answered them
    assert server.returncode == 0


def test_a_worker_loads_its_urls_and_freezes_what_it_loaded_out_of_the_collectors_sight(tmp_path):
    """gunicorn.conf.py's post_worker_init: a full garbage collection of a worker's start-up
    objects took about 57 ms of a request that caught it (docs/performance.md, "Fair share")."""
    probe = (
        "import gc, runpy, sys, django; django.setup(); "
        "hooks = runpy.run_path('gunicorn.conf.py'); "
        "assert 'oms_project.schema' not in sys.modules; "
        "hooks['post_worker_init'](None); "
        "print(gc.get_freeze_count(), 'oms_project.schema' in sys.modules)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms_project.settings_test",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    frozen, schema_loaded = result.stdout.split()
    assert int(frozen) > 50_000 and schema_loaded == "True"


# -- the container files, linted and run without a container engine (issue 17, part 5) ---------


def _tool(name: str) -> str:
    """A command-line tool installed next to this Python (requirements-dev.txt)."""
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} is missing: pip install -r requirements-dev.txt"
    return str(path)


def test_the_dockerfile_passes_hadolint():
    result = subprocess.run(
        [_tool("hadolint"), "--failure-threshold", "info", "--no-color", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_file_validates_against_the_compose_specification():
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "docker-compose.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


_INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?-)([^}]*)|:\?([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}`, `${NAME-default}` and `${NAME:?error}`."""

    def one(match: re.Match) -> str:
        name, dash, default, error = match.groups()
        if error is not None:
            assert env.get(name), f"compose would refuse: {error}"
            return env[name]
        if dash == ":-":
            return env.get(name) or default
        if dash == "-":
            return env.get(name, default)
        return env.get(name, "")

    return _INTERPOLATION.sub(one, value)


def image_environment() -> dict[str, str]:
    """The Dockerfile's ENV lines (the image's own settings)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return dict(pair.split("=", 1) for line in re.findall(r"^ENV (.+)$", text, re.M) for pair in line.split())


@pytest.fixture
def empty_database():
    """A database of its own on the test server, as compose's `db` starts: empty."""
    import psycopg

    url = database_url_for_subprocesses()
    name = f"oms_compose_{os.getpid()}"
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@requires_postgres
def test_the_compose_commands_and_the_image_run_as_plain_processes(empty_database, tmp_path):
    """The app service's command (migrate, then gunicorn), the relay's, the image's CMD and its
    HEALTHCHECK, each as the container would run it, against PostgreSQL instead of `db`."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    port = free_port()
    given = {
        "SECRET_KEY": "compose-test-only",
        "OMS_METRICS_PUBLIC": "1",
        "OMS_EVENT_STREAM_URL": "",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }

    def environment(service: str) -> dict[str, str]:
        values = {k: interpolate(str(v), given) for k, v in compose["services"][service]["environment"].items()}
        values["DATABASE_URL"] = empty_database  # compose's `db` service
        return {
            **os.environ,
            **image_environment(),
            **values,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / service),
            "WEB_CONCURRENCY": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def ready(process) -> None:
        for _ in range(600):
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).status == 200:
                    return
            except OSError:
                pass
            assert process.poll() is None, process.communicate()[1][-2000:]
            time.sleep(0.1)
        pytest.fail("never ready")

    def stop(process) -> None:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)

    import shlex

    # A string command is split as a shell would, then run without one (Compose's rule).
    app = subprocess.Popen(
        shlex.split(compose["services"]["app"]["command"]),
        cwd=ROOT,
        env=environment("app"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        ready(app)  # migrations ran first, on the empty database
        healthcheck = re.search(r"HEALTHCHECK .*?CMD (\[[^\n]*\])", (ROOT / "Dockerfile").read_text(), re.S).group(1)
        import json as _json

        # The container's port 8000 is a free port here.
        probe = [part.replace(":8000/", f":{port}/") for part in _json.loads(healthcheck)]
        assert subprocess.run(probe, env=environment("app"), timeout=30).returncode == 0
        metrics_port = free_port()  # the container's 9108
        relay = subprocess.Popen(
            compose["services"]["relay"]["command"],
            cwd=ROOT,
            env={**environment("relay"), "OMS_RELAY_METRICS_PORT": str(metrics_port)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert f"metrics on :{metrics_port}" in relay.stdout.readline()
            assert "delivering" in relay.stdout.readline()
        finally:
            stop(relay)
        assert relay.returncode == 0
        # The live process: its command on a free port speaks graphql-transport-ws at /graphql/.
        live_port = free_port()
        live_command = [part.replace("8001", str(live_port)) for part in compose["services"]["live"]["command"]]
        live = subprocess.Popen(live_command, cwd=ROOT, env=environment("live"), stderr=subprocess.PIPE, text=True)
        try:
            from websockets.exceptions import ConnectionClosed
            from websockets.sync.client import connect

            for _ in range(300):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{live_port}/readyz", timeout=2)
                    break
                except OSError:
                    assert live.poll() is None, live.communicate()[1][-2000:]
                    time.sleep(0.1)
            url = f"ws://127.0.0.1:{live_port}/graphql/"
            with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10) as socket:
                socket.send('{"type": "connection_init", "payload": {"Authorization": "Bearer nope"}}')
                with pytest.raises(ConnectionClosed) as closed:
                    socket.recv(timeout=10)
            assert closed.value.rcvd.code == 4403
        finally:
            stop(live)
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.communicate(timeout=30)
    cmd = _json.loads(re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.M).group(1))
    image = subprocess.Popen(
        cmd, cwd=ROOT, env=environment("app"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        ready(image)
    finally:
        stop(image)
