"""CSV import throughput: 100,000 product rows through `manage.py import_snapshots`.

    .venv/bin/python bench/import_snapshots.py                 # SQLite (a fresh file under var/)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms_bench .venv/bin/python bench/import_snapshots.py

Prints rows per second for a first import and for an idempotent re-run of the same file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import recreate_database

ROOT = Path(__file__).resolve().parent.parent
ROWS = int(os.environ.get("BENCH_ROWS", "100000"))


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode:
        sys.exit(result.stderr)
    return result.stdout.strip()


def main() -> None:
    env = dict(os.environ, DEBUG="1")
    workdir = Path(tempfile.mkdtemp(prefix="oms-bench-"))
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    if env["DATABASE_URL"].startswith("postgres"):
        recreate_database(env["DATABASE_URL"])  # reset the benchmark database
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "create_tenant", "--id", "bench", "--hs256-secret", "b" * 40)

    path = workdir / "products.csv"
    with path.open("w") as handle:
        handle.write(
            "product_id,vendor_id,sku,name,price_amount,price_currency,active,available_quantity,"
            "min_quantity,max_quantity,attributes,version\n"
        )
        for n in range(ROWS):
            handle.write(
                f"p-{n},v-{n % 50},SKU-{n},Product {n},{n % 997}.99,USD,true,{n % 300},1,20,"
                f'"{{""color"": ""c{n % 7}""}}",1\n'
            )

    engine = "PostgreSQL" if env["DATABASE_URL"].startswith("postgres") else "SQLite"
    print(f"import_snapshots product, {ROWS:,} rows, {engine}")
    for label in ("first import", "re-run (idempotent)"):
        started = time.perf_counter()
        output = manage(env, "import_snapshots", "product", str(path), "--tenant", "bench", "--no-progress")
        elapsed = time.perf_counter() - started
        print(f"  {label:<20} {elapsed:6.1f} s  {ROWS / elapsed:9,.0f} rows/s   ({output})")


if __name__ == "__main__":
    main()
