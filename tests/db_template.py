"""One migration per run of the suite, however many pytest-xdist workers run it.

Each worker has a test database of its own, and migrating one costs 3-6 s of CPU. The first worker
to get here migrates; every other worker waits for it and copies the result instead of migrating,
as Django's own parallel test runner clones its test database for its workers:

- SQLite (in memory): the first worker copies its database into a file with SQLite's backup API;
  the others copy that file into their memory.
- PostgreSQL: the first worker's database becomes the template of a database of the run's own
  (`CREATE DATABASE ... TEMPLATE`); the others are created from that template.

What a run shares lives under names of the run's own (pytest-xdist's `testrunuid`), so nothing is
carried from one run to the next; the controller removes it when the run ends.
"""

from __future__ import annotations

import fcntl
import shutil
import sqlite3
import tempfile
from pathlib import Path

from django.conf import settings
from django.db.backends.base.creation import BaseDatabaseCreation
from django.db.backends.postgresql.creation import DatabaseCreation as PostgresCreation
from django.db.backends.sqlite3.creation import DatabaseCreation as SqliteCreation


def run_dir(run_id: str) -> Path:
    return Path(tempfile.gettempdir()) / f"oms-test-db-{run_id}"


def template_name(run_id: str) -> str:
    return f"oms_test_template_{run_id[:12]}"


def install(run_id: str) -> None:
    """Make this worker's test databases come from the run's template."""
    directory = run_dir(run_id)
    directory.mkdir(exist_ok=True)
    migrate = BaseDatabaseCreation.create_test_db

    def shared(self, verbosity=1, autoclobber=False, serialize=True, keepdb=False):
        alias = self.connection.alias
        with open(directory / f"{alias}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # held while the first worker migrates
            made = directory / f"{alias}.made"
            if not made.exists():
                name = migrate(self, verbosity, autoclobber, serialize, keepdb)
                _keep(self, directory / f"{alias}.sqlite3", template_name(run_id))
                made.touch()
                return name
        name = self._get_test_db_name()
        _copy(self, name, directory / f"{alias}.sqlite3", template_name(run_id))
        self.connection.close()
        self.connection.settings_dict["NAME"] = name
        settings.DATABASES[alias]["NAME"] = name
        self.connection.ensure_connection()
        if isinstance(self, SqliteCreation):
            with sqlite3.connect(directory / f"{alias}.sqlite3") as source:
                source.backup(self.connection.connection)
        if serialize:
            self.connection._test_serialized_contents = self.serialize_db_to_string()
        return name

    SqliteCreation.create_test_db = shared
    PostgresCreation.create_test_db = shared


def _keep(creation, sqlite_file: Path, template: str) -> None:
    """The first worker's freshly migrated database, kept for the others."""
    if isinstance(creation, SqliteCreation):
        with sqlite3.connect(sqlite_file) as copy:
            creation.connection.connection.backup(copy)
        return
    migrated = creation.connection.settings_dict["NAME"]
    creation.connection.close()  # a template must have no connections
    with creation._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{template}"')
        cursor.execute(f'CREATE DATABASE "{template}" TEMPLATE "{migrated}"')
    creation.connection.ensure_connection()


def _copy(creation, name: str, sqlite_file: Path, template: str) -> None:
    if isinstance(creation, SqliteCreation):
        return  # copied into memory once connected
    with creation._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def remove(run_id: str, connection) -> None:
    """At the end of the run (the controller): the SQLite file, and the PostgreSQL template."""
    shutil.rmtree(run_dir(run_id), ignore_errors=True)
    if connection.vendor == "postgresql":
        import psycopg

        params = {
            k: v for k, v in connection.get_connection_params().items() if k in ("host", "port", "user", "password")
        }
        with psycopg.connect(**params, dbname="postgres", autocommit=True) as maintenance:
            maintenance.execute(f'DROP DATABASE IF EXISTS "{template_name(run_id)}"')
