"""A highly available PostgreSQL of a test's own: pg_auto_failover's monitor and two data nodes
(Debian's `postgresql-15-auto-failover`), each a cluster in a temporary directory on a free port,
run as the `postgres` user. The two nodes replicate synchronously (the monitor's default with one
standby), so a commit is on both before it is acknowledged. The monitor's health checks are made
fast (about 2 s to call a node dead, 3 s for the old primary to demote) so a failover completes
within seconds instead of the defaults' half a minute."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time

import psycopg

from tests.conftest import free_port
from tests.pg_cluster import binaries

PG_AUTOCTL = "/usr/bin/pg_autoctl"
MONITOR_SETTINGS = {
    "pgautofailover.health_check_period": 1000,
    "pgautofailover.health_check_timeout": 1000,
    "pgautofailover.health_check_max_retries": 1,
    "pgautofailover.health_check_retry_delay": 500,
    "pgautofailover.node_considered_unhealthy_timeout": 2000,
    "pgautofailover.primary_demote_timeout": 3000,
}


def pg_ctl() -> str | None:
    found = binaries()
    return f"{found}/pg_ctl" if found else None


def unavailable_reason() -> str | None:
    if not os.path.exists(PG_AUTOCTL):
        return f"{PG_AUTOCTL} missing: `make test` installs Debian's postgresql-15-auto-failover"
    if pg_ctl() is None:
        return "no PostgreSQL binaries under /usr/lib/postgresql"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "needs root to run pg_autoctl as the postgres user (runuser)"
    return None


class Formation:
    """A monitor and two data nodes, `a` (the first primary) and `b`."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="oms-paf-")
        shutil.chown(self.dir, "postgres", "postgres")
        self.monitor_port = free_port()
        self.ports = {"a": free_port(), "b": free_port()}
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "XDG_CONFIG_HOME": os.path.join(self.dir, "config"),
            "XDG_DATA_HOME": os.path.join(self.dir, "share"),
        }

    def _run(self, name: str, *args: str) -> None:
        """`pg_autoctl ... --run` as postgres, in a session of its own (so `kill` takes it all)."""
        log = open(os.path.join(self.dir, f"{name}.log"), "w")  # noqa: SIM115 (the process writes it)
        self.processes[name] = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", PG_AUTOCTL, *args],
            cwd=self.dir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _autoctl(self, *args: str) -> str:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", PG_AUTOCTL, *args],
            cwd=self.dir,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    @property
    def monitor_uri(self) -> str:
        return f"postgres://autoctl_node@127.0.0.1:{self.monitor_port}/pg_auto_failover?sslmode=disable"

    def start(self) -> Formation:
        common = ["--pgctl", pg_ctl(), "--auth", "trust", "--no-ssl", "--hostname", "127.0.0.1"]
        self._run(
            "monitor",
            "create", "monitor", "--pgdata", os.path.join(self.dir, "monitor"),
            "--pgport", str(self.monitor_port), *common, "--run",
        )  # fmt: skip
        self._wait(lambda: self._monitor_ready(), "the monitor")
        with psycopg.connect(self.monitor_uri.replace("autoctl_node", "postgres"), autocommit=True) as monitor:
            for name, value in MONITOR_SETTINGS.items():
                monitor.execute(f"ALTER SYSTEM SET {name} TO {value}")
            monitor.execute("SELECT pg_reload_conf()")
        for node in ("a", "b"):
            self._run(
                node,
                "create", "postgres", "--pgdata", os.path.join(self.dir, node), "--pgport", str(self.ports[node]),
                "--monitor", self.monitor_uri, "--name", node, *common, "--run",
            )  # fmt: skip
            wanted = {"a": "single"} if node == "a" else {"a": "primary", "b": "secondary"}
            self._wait(lambda wanted=wanted: self.states() == wanted, f"node {node}")
        return self

    def _monitor_ready(self) -> bool:
        try:
            with psycopg.connect(self.monitor_uri, connect_timeout=1) as monitor:
                monitor.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def _wait(self, done, what: str, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if done():
                return
            time.sleep(0.2)
        raise AssertionError(f"{what} never got ready: {self.states()}\n{self.log_tail()}")

    def states(self) -> dict[str, str]:
        """Each node's reported state, from the monitor."""
        try:
            with psycopg.connect(self.monitor_uri, connect_timeout=1) as monitor:
                rows = monitor.execute("SELECT nodename, reportedstate FROM pgautofailover.node").fetchall()
        except psycopg.Error:
            return {}
        return {name: str(state) for name, state in rows}

    def url(self, database: str, **options: str) -> str:
        """The multi-host URL an app connects with: libpq finds the primary."""
        query = "&".join(f"{k}={v}" for k, v in {"target_session_attrs": "read-write", **options}.items())
        hosts = ",".join(f"127.0.0.1:{self.ports[node]}" for node in ("a", "b"))
        return f"postgres://postgres@{hosts}/{database}?{query}"

    def node_url(self, node: str, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.ports[node]}/{database}"

    def kill(self, node: str) -> None:
        """The node's machine dies: its keeper and its postmaster, SIGKILL, nothing shut down."""
        os.killpg(self.processes[node].pid, signal.SIGKILL)
        self.processes[node].wait(10)

    def log_tail(self) -> str:
        tails = []
        for name in ("monitor", "a", "b"):
            path = os.path.join(self.dir, f"{name}.log")
            if os.path.exists(path):
                with open(path) as log:
                    tails.append(f"--- {name}\n" + "".join(log.readlines()[-15:]))
        return "\n".join(tails)

    def destroy(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(10)
        # Postmasters a keeper started outlive it in its session only if it forked them elsewhere.
        subprocess.run(["pkill", "-9", "-f", self.dir], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
