"""One operation in-process on PostgreSQL, many times: CPU p50, and optionally where it goes.

    .venv/bin/python bench/profile_operation.py me [--calls 1000] [--profile]
    .venv/bin/python bench/profile_operation.py place [--calls 200] [--profile]

Uses `make bench`'s database (`oms_bench`, rebuilt by `make bench` or `make bench-events`; run one
of them first) and its tokens. `me` posts `{ me { userId } }`; `place` first makes the drafts,
then places them. After a warm-up it prints the CPU p50 per call (time.process_time) and, with
`--profile`, the 25 most expensive functions by own time (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time

import lifecycle
from lifecycle import CHECKOUT, NEW_ORDER, PLACE, TOKENS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("operation", choices=["me", "place"])
    parser.add_argument("--calls", type=int, default=0)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    lifecycle.django_setup()
    from django.test import Client

    client = Client()

    def post(query, variables, role):
        response = client.post("/graphql/", json.dumps({"query": query, "variables": variables}),
                               content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {TOKENS[role]}")
        return next(iter(response.json()["data"].values()))

    if args.operation == "me":
        calls = args.calls or 1000
        work = [lambda: post("{ me { userId } }", {}, "customer")] * (calls + 100)
    else:
        calls = args.calls or 200
        drafts = [post(CHECKOUT, NEW_ORDER, "customer")["order"]["id"] for _ in range(calls + 20)]
        work = [lambda order_id=order_id: post(PLACE, {"id": order_id}, "customer") for order_id in drafts]
    for call in work[:-calls]:  # warm-up
        call()
    measured = work[-calls:]
    profiler = cProfile.Profile() if args.profile else None
    cpu = []
    if profiler:
        profiler.enable()
    for call in measured:
        started = time.process_time()
        call()
        cpu.append(time.process_time() - started)
    if profiler:
        profiler.disable()
    cpu.sort()
    print(f"{args.operation}: {calls} calls in-process on {lifecycle.PG}/oms_bench, CPU p50 "
          f"{cpu[len(cpu) // 2] * 1000:.3f} ms{' (under cProfile)' if profiler else ''}")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
