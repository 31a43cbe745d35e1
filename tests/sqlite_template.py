"""One migration per run of the SQLite pass, however many pytest-xdist workers run it.

Each worker has its own in-memory test database, and migrating one costs about 3 s of CPU. The first
worker to get here migrates and copies the result into a file of this run's own (SQLite's backup
API); every other worker waits for that file and copies it into its memory instead of migrating:
what Django's own parallel test runner does when it clones its test database for its workers. The
file lives in a directory named after the run (pytest-xdist's `testrunuid`), so nothing is carried
from one run to the next; the controller removes it when the run ends.
"""

from __future__ import annotations

import fcntl
import shutil
import sqlite3
import tempfile
from pathlib import Path

from django.db.backends.sqlite3.creation import DatabaseCreation


def template_dir(run_id: str) -> Path:
    return Path(tempfile.gettempdir()) / f"oms-test-db-{run_id}"


def install(run_id: str) -> None:
    """Make SQLite test databases of this worker come from the run's template."""
    directory = template_dir(run_id)
    directory.mkdir(exist_ok=True)
    migrate_and_keep = DatabaseCreation.create_test_db

    def create_test_db(self, verbosity=1, autoclobber=False, serialize=True, keepdb=False):
        if not self.is_in_memory_db(self._get_test_db_name()):
            return migrate_and_keep(self, verbosity, autoclobber, serialize, keepdb)
        template = directory / f"{self.connection.alias}.sqlite3"
        with open(directory / f"{self.connection.alias}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # held while the first worker migrates
            if not template.exists():
                name = migrate_and_keep(self, verbosity, autoclobber, serialize, keepdb)
                with sqlite3.connect(template) as copy:
                    self.connection.connection.backup(copy)
                return name
        name = self._get_test_db_name()
        self.connection.close()
        self.connection.settings_dict["NAME"] = name
        from django.conf import settings

        settings.DATABASES[self.connection.alias]["NAME"] = name
        self.connection.ensure_connection()
        with sqlite3.connect(template) as source:
            source.backup(self.connection.connection)
        if serialize:
            self.connection._test_serialized_contents = self.serialize_db_to_string()
        return name

    DatabaseCreation.create_test_db = create_test_db


def remove(run_id: str) -> None:
    shutil.rmtree(template_dir(run_id), ignore_errors=True)
