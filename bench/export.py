"""`make bench-export`: `manage.py export_orders` over a tenant of BENCH_EXPORT_ORDERS orders
(default 1,000,000, two lines each, seeded with SQL by bench/orders_list.py's seed): wall time,
orders per second, and the process's peak memory (its maximum resident set, from wait4) for CSV,
CSV with a row per line, and XLSX. The target (issue 33): under 200 MB at 1,000,000 orders.

    make bench-export
    BENCH_EXPORT_ORDERS=100000 make bench-export
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
URL = f"{PG}/oms_bench_export"
ORDERS = int(os.environ.get("BENCH_EXPORT_ORDERS", "1000000"))
os.environ["DATABASE_URL"] = URL
sys.path.insert(0, str(BENCH))

import orders_list  # noqa: E402 (reads DATABASE_URL at import)


def run(*options: str) -> tuple[float, float, int]:
    """Seconds, peak resident MB and bytes written for one export to a temporary file."""
    with tempfile.TemporaryDirectory() as directory:
        target = Path(directory) / "orders.out"
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "manage.py", "export_orders", "bench", "--quiet", "--output", str(target), *options],
            cwd=ROOT,
            env={**os.environ, "DEBUG": "0", "SECRET_KEY": "bench-" + "x" * 40, "ALLOWED_HOSTS": "localhost"},
            stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            raise SystemExit(f"export_orders {' '.join(options)} failed: {process.stderr.read().decode()}")
        return elapsed, usage.ru_maxrss / 1024, target.stat().st_size


def main() -> None:
    print(f"make bench-export: {ORDERS:,} orders (2 lines each) in tenant bench, PostgreSQL {PG}")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms_project.settings")
    os.environ.setdefault("DEBUG", "1")
    orders_list.setup_database()
    import django

    django.setup()
    seeded = orders_list.seed("bench", 1, ORDERS)
    print(f"  seeded in {seeded:.1f} s")
    peaks = []
    for label, options in (
        ("CSV, a row per order", ()),
        ("CSV, a row per line (--lines)", ("--lines",)),
        ("XLSX, a row per order", ("--format", "xlsx")),
    ):
        elapsed, peak, size = run(*options)
        peaks.append(peak)
        print(
            f"  {label:32s} {elapsed:6.1f} s = {ORDERS / elapsed:7.0f} orders/s, "
            f"peak memory {peak:5.1f} MB, {size / 1e6:6.1f} MB written"
        )
    verdict = "OK" if max(peaks) < 200 else "MISSED"
    print(f"target (issue 33): under 200 MB at 1,000,000 orders: peak {max(peaks):.1f} MB {verdict}")


if __name__ == "__main__":
    main()
