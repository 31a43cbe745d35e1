"""`make bench-erasure`: erasing a customer with many orders, next to another tenant's checkout
(docs/performance.md, "Customer erasure").

    make bench-erasure
    ERASURE_ORDERS=1000 make bench-erasure

On PostgreSQL (BENCH_PG), the database and the gunicorn server of `make bench-fairness`
(`bench/fairness.py`: its setup, its clients):

1. One customer of tenant `loud` places ERASURE_ORDERS orders over HTTP (checkout, place), from
   8 clients with the same token.
2. The quiet tenant starts an order every 100 ms alone (p50 / p99 per call), as in fairness.
3. `manage.py customer_data loud erase <customer> --force` runs (each pending order is cancelled
   first, then erased: the heaviest case) while the quiet tenant goes on: the erasure's wall
   time, and the quiet tenant's p50 / p99 and errors meanwhile.
4. What is left: rows of the database that still hold the customer's email (0 expected).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import fairness as f

ORDERS = int(os.environ.get("ERASURE_ORDERS", "1000"))
CUSTOMER = "erase-me"
CLIENTS = 8


def place_orders(count: int) -> None:
    done = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal done
        client = f.Client(f.LOUD, CUSTOMER)
        while True:
            with lock:
                if done >= count:
                    return
                done += 1
            if not client.order():
                raise SystemExit(f"an order failed: {client.summary()}")

    threads = [threading.Thread(target=work) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def erase(result: dict) -> None:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "customer_data", f.LOUD, "erase", CUSTOMER, "--reason", "bench", "--force"],
        cwd=f.ROOT,
        env=f.env(),
        capture_output=True,
        text=True,
    )
    result["seconds"] = time.perf_counter() - started
    result["output"] = (done.stdout + done.stderr).strip()
    result["code"] = done.returncode


def main() -> None:
    os.chdir(f.ROOT)
    print(f"make bench-erasure: PostgreSQL {f.PG}, {ORDERS} orders of one customer, {os.cpu_count()} cores")
    f.setup()
    server = f.start_server()
    try:
        started = time.perf_counter()
        place_orders(ORDERS)
        print(f"placed {ORDERS} orders for {CUSTOMER} in {time.perf_counter() - started:.1f} s")
        time.sleep(f.ACTIVE_WINDOW)
        alone = f.run(0, True, 10)
        result: dict = {}
        eraser = threading.Thread(target=erase, args=(result,))
        eraser.start()
        during = f.run(0, True, 10)
        eraser.join()
    finally:
        f.stop(server)
    print(f"erasure: {result['seconds']:.2f} s wall (the command, Django's start included); exit {result['code']}")
    print(f"  {result['output']}")
    for name, phase in (("alone", alone), ("during the erasure", during)):
        print(
            f"quiet tenant {name}: p50 {phase['quiet_p50']:.1f} ms, p99 {phase['quiet_p99']:.1f} ms, "
            f"errors {phase['quiet_errors']}"
        )
    email = "bench@example.com"  # fairness.NEW_ORDER's customer email, the erased customer's too
    left = f.psql(
        "SELECT count(*) FROM ordering_order WHERE tenant_id = 'loud' AND customer_user_id = '"
        + CUSTOMER
        + "' AND customer_email = '"
        + email
        + "'"
    )
    events = f.psql(
        "SELECT count(*) FROM ordering_outbox_event e JOIN ordering_order o ON o.id = e.aggregate_id "
        f"WHERE o.customer_user_id = '{CUSTOMER}' AND e.data::text LIKE '%{email}%'"
    )
    print(f"left with the email: {left.strip()} order(s), {events.strip()} event document(s) (0 expected)")


if __name__ == "__main__":
    main()
