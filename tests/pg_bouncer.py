"""A PgBouncer of a test's own, in front of a PostgreSQL cluster: Debian's `pgbouncer` on a free
port, in transaction pooling mode, run as the `postgres` user (it refuses to run as root).
`.ci/run` and `make test` install the package when it is missing."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from tests.conftest import free_port

BINARY = "/usr/sbin/pgbouncer"


def unavailable_reason() -> str | None:
    if not os.path.exists(BINARY):
        return f"{BINARY} missing: `make test` installs Debian's pgbouncer"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "needs root to run pgbouncer as the postgres user (runuser)"
    return None


class PgBouncer:
    def __init__(self, server_port: int, *, pool_size: int = 1) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="oms-pgbouncer-")
        shutil.chown(self.dir, "postgres", "postgres")
        self.log = os.path.join(self.dir, "pgbouncer.log")
        with open(os.path.join(self.dir, "userlist.txt"), "w") as users:
            users.write('"postgres" ""\n')
        with open(os.path.join(self.dir, "pgbouncer.ini"), "w") as config:
            config.write(
                "[databases]\n"
                f"* = host=127.0.0.1 port={server_port}\n"
                "[pgbouncer]\n"
                "listen_addr = 127.0.0.1\n"
                f"listen_port = {self.port}\n"
                "unix_socket_dir =\n"
                "auth_type = trust\n"
                f"auth_file = {self.dir}/userlist.txt\n"
                "pool_mode = transaction\n"
                # Every client shares so few server connections that one tenant's transaction runs
                # on the connection another tenant's just used: a carried-over scope would show.
                f"default_pool_size = {pool_size}\n"
                "max_client_conn = 200\n"
                "server_reset_query =\n"
                "ignore_startup_parameters = extra_float_digits,options\n"
                f"logfile = {self.log}\n"
                f"pidfile = {self.dir}/pgbouncer.pid\n"
            )
        for name in os.listdir(self.dir):
            shutil.chown(os.path.join(self.dir, name), "postgres", "postgres")
        self.process: subprocess.Popen | None = None

    def start(self) -> PgBouncer:
        self.process = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", BINARY, os.path.join(self.dir, "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        with open(self.log) as log:
            raise AssertionError(f"pgbouncer did not listen on {self.port}: {log.read()[-2000:]}")

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        pidfile = os.path.join(self.dir, "pgbouncer.pid")
        if os.path.exists(pidfile):  # pgbouncer itself, not runuser in front of it
            try:
                with open(pidfile) as pid:
                    os.kill(int(pid.read().strip()), signal.SIGTERM)
            except (OSError, ValueError):
                pass
        if self.process is not None:
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
