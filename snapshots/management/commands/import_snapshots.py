"""Import one snapshot type from a CSV file for a tenant (templates in docs/csv/)."""

from __future__ import annotations

import csv
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from oms_project.kernel.tenancy import tenant_model
from snapshots.application.csv_import import SPECS, import_snapshots
from snapshots.infrastructure.snapshot_writer import OrmSnapshotWriter

MAX_REPORTED = 200


class Command(BaseCommand):
    help = "Validate every row, then upsert them all in one transaction (nothing if any row is bad)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("type", choices=sorted(SPECS))
        parser.add_argument("file")
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
        parser.add_argument("--skip-invalid", action="store_true", help="write the good rows, report the bad")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options) -> None:
        if not tenant_model().objects.filter(pk=options["tenant"]).exists():
            raise CommandError(f"unknown tenant {options['tenant']!r}")
        started = time.perf_counter()
        try:
            handle = open(options["file"], newline="", encoding="utf-8-sig")  # noqa: SIM115 (closed below)
        except OSError as exc:
            raise CommandError(f"cannot read {options['file']}: {exc.strerror}") from exc
        with handle:
            reader = csv.DictReader(handle)
            columns = list(reader.fieldnames or [])
            rows = ((reader.line_num, row) for row in reader)
            progress = tqdm(
                rows,
                desc=f"{options['type']} rows",
                unit=" rows",
                disable=options["no_progress"],
                file=self.stderr._out,
            )
            report = import_snapshots(
                options["tenant"],
                options["type"],
                columns,
                progress,
                OrmSnapshotWriter(),
                dry_run=options["dry_run"],
                skip_invalid=options["skip_invalid"],
                batch_size=options["batch_size"],
            )
        for error in report.errors[:MAX_REPORTED]:
            self.stderr.write(f"line {error.line}, column {error.column}: {error.message}")
        if len(report.errors) > MAX_REPORTED:
            self.stderr.write(f"... and {len(report.errors) - MAX_REPORTED} more bad rows")
        elapsed = time.perf_counter() - started
        summary = (
            f"{report.rows} rows read, {len(report.errors)} bad, {report.written} written, "
            f"{report.stale} skipped as stale, in {elapsed:.1f} s"
        )
        if options["dry_run"]:
            self.stdout.write(f"Dry run, nothing written: {summary}")
        elif report.errors and not options["skip_invalid"]:
            raise CommandError(f"Nothing written: {summary}")
        else:
            self.stdout.write(f"Imported: {summary}")
