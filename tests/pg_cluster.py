"""A PostgreSQL cluster of a test's own: the machine's `initdb` and `pg_ctl` in a temporary
directory on a free port, run as the `postgres` user (`initdb` refuses root). Tests that stop,
kill or restart a database use this, never the shared server."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile

from tests.conftest import free_port


def binaries() -> str | None:
    """The directory of the newest installed PostgreSQL's binaries, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else None


def unavailable_reason() -> str | None:
    if binaries() is None:
        return "no PostgreSQL binaries under /usr/lib/postgresql"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "needs root to run initdb as the postgres user (runuser)"
    return None


class PgCluster:
    def __init__(self, options: str = "") -> None:
        self.options = options  # more `-c name=value` server settings
        self.bin = binaries()
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="oms-pg-")
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "server.log")

    def _as_postgres(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *args], check=check, capture_output=True, text=True, cwd=self.dir
        )

    def init(self) -> PgCluster:
        self._as_postgres(f"{self.bin}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        return self

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50 "
            f"{self.options}"
        )
        self._as_postgres(f"{self.bin}/pg_ctl", "-D", self.data, "-o", options, "-l", self.log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(f"{self.bin}/pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


REPLICATION = "-c wal_level=replica -c max_wal_senders=5 -c hot_standby=on -c log_statement=all"


def streaming_pair() -> tuple[PgCluster, PgCluster]:
    """A primary and a hot-standby streaming replica of it (`pg_basebackup -R`), both started and
    logging every statement (count statements on each from `statements_in`)."""
    primary = PgCluster(REPLICATION).init()
    primary.start()
    replica = PgCluster(REPLICATION)
    replica._as_postgres(
        f"{replica.bin}/pg_basebackup",
        "-h",
        "127.0.0.1",
        "-p",
        str(primary.port),
        "-U",
        "postgres",
        "-D",
        replica.data,
        "-R",
        "-X",
        "stream",
        "--no-sync",
    )
    replica.start()
    return primary, replica


def statements_in(cluster: PgCluster, fragment: str) -> int:
    """How many statements the cluster logged that contain `fragment`."""
    with open(cluster.log, encoding="utf-8", errors="replace") as log:
        return sum(1 for line in log if ("statement: " in line or "execute " in line) and fragment in line)
