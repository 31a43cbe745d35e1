"""`make run`'s configuration (DEBUG=1, SQLite, `migrate`, `seed_demo`, `runserver`) as a process:
it serves `me` for every token `seed_demo` prints, answers a checkout, accepts a subscription over
its WebSocket (daphne's runserver, oms_project/asgi.py), and, with the standard OpenTelemetry
variables set, its spans reach an OTLP/HTTP collector (oms_project/kernel/tracing.py).

One server serves every check: migrating a fresh database and seeding it is most of the test's
cost, so it is paid once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from .conftest import free_port
from .demo_stack import LAMP_CHECKOUT, stop_process

ROOT = Path(__file__).resolve().parent.parent
ME = "{ me { userId roles customer { email } } }"


class Collector:
    """An OTLP/HTTP endpoint: keeps the span names of every export it receives."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        self.names: list[str] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                export = ExportTraceServiceRequest.FromString(self.rfile.read(int(self.headers["Content-Length"])))
                collector.names += [
                    span.name
                    for resource in export.resource_spans
                    for scope in resource.scope_spans
                    for span in scope.spans
                ]
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()


def test_make_runs_server_serves_every_seeded_token_and_exports_its_spans(tmp_path):
    collector = Collector()
    port = free_port()
    graphql = f"http://127.0.0.1:{port}/graphql/"
    # `make run`'s environment: no SECRET_KEY (DEBUG's development key), a SQLite file of its own.
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL", "OMS_DEMO_HS256_SECRET"}}
    env.update(
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite3'}",
        DJANGO_SETTINGS_MODULE="oms_project.settings",
        LOG_FORMAT="plain",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_SERVICE_NAME="oms-test",
        OTEL_BSP_SCHEDULE_DELAY="100",
    )

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    manage("migrate", "--noinput", "-v0")
    tokens = [line.strip() for line in manage("seed_demo").splitlines() if line.strip().startswith("eyJ")]
    assert len(tokens) == 3
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        answers = []
        for token in tokens:
            for _ in range(150):
                try:
                    answers.append(
                        requests.post(
                            graphql, json={"query": ME}, headers={"Authorization": f"Bearer {token}"}, timeout=5
                        )
                    )
                    break
                except requests.ConnectionError:
                    threading.Event().wait(0.2)
        assert [answer.status_code for answer in answers] == [200, 200, 200], [a.text for a in answers]
        assert [answer.json()["data"]["me"]["userId"] for answer in answers] == [
            "demo-customer",
            "demo-vendor",
            "demo-staff",
        ]

        customer = tokens[0]
        checkout = requests.post(
            graphql,
            json={"query": LAMP_CHECKOUT.replace("mutation(", "mutation Checkout("), "variables": {"key": "otel-1"}},
            headers={"Authorization": f"Bearer {customer}"},
            timeout=5,
        )
        assert checkout.json()["data"]["checkoutItems"]["errors"] == []

        from websockets.sync.client import connect

        with connect(f"ws://127.0.0.1:{port}/graphql/", subprotocols=["graphql-transport-ws"]) as socket:
            socket.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {customer}"}}))
            assert json.loads(socket.recv(timeout=10)) == {"type": "connection_ack"}
        for _ in range(50):
            if "mutation Checkout" in collector.names:
                break
            threading.Event().wait(0.2)
    finally:
        stop_process(server)
        collector.stop()
    assert {"POST graphql/", "mutation Checkout"} <= set(collector.names)
    assert any(
        name in ("SELECT", "INSERT", "UPDATE") or name.startswith(("SELECT", "INSERT")) for name in collector.names
    ), collector.names
