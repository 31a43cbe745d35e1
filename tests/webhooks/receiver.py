"""A real HTTP receiver on 127.0.0.1 that checks every delivery's signature with the
`standardwebhooks` package and records what arrived."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


class Receiver:
    def __init__(self, secret: str, port: int = 0, status: int = 204, delay: float = 0.0) -> None:
        self.secret = secret
        self.status = status
        self.delay = delay
        self.received: list[dict] = []
        self.rejected: list[str] = []
        self.in_flight: dict[tuple[str, str], int] = {}
        self.overlaps: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver._handle(self, headers, body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def _handle(self, handler, headers, body) -> None:
        try:
            Webhook(self.secret).verify(body, headers)
        except Exception as error:  # the package raises WebhookVerificationError
            self.rejected.append(str(error))
            handler.send_response(400)
            handler.end_headers()
            return
        event = json.loads(body)
        key = (headers.get("x-subscription", self.url), event["id"])
        with self._lock:
            self.in_flight[key] = self.in_flight.get(key, 0) + 1
            if self.in_flight[key] > 1:
                self.overlaps.append(key)
        try:
            if self.delay:
                time.sleep(self.delay)
            with self._lock:
                self.received.append({"headers": headers, "event": event, "status": self.status})
            handler.send_response(self.status)
            handler.end_headers()
        finally:
            with self._lock:
                self.in_flight[key] -= 1

    @property
    def events(self) -> list[dict]:
        return [r["event"] for r in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
