"""One operation in-process on PostgreSQL, many times: CPU p50, and optionally where it goes.

    .venv/bin/python bench/profile_operation.py me [--calls 1000] [--profile]
    .venv/bin/python bench/profile_operation.py place|checkout|confirm|ship [--calls 200] [--profile]

Uses `make bench`'s database (`oms_bench`, rebuilt by `make bench` or `make bench-events`; run one
of them first) and its tokens. `me` posts `{ me { userId } }`; `checkout` makes drafts; `place`,
`confirm` and `ship` first bring orders to the state before, then time that step (`ship` times
the first vendor's shipment). After a warm-up it prints the CPU p50 per call (time.process_time) and, with
`--profile`, the 25 most expensive functions by own time (cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import time

import lifecycle
from lifecycle import CHECKOUT, CONFIRM, NEW_ORDER, PLACE, SHIP, TOKENS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("operation", choices=["me", "checkout", "place", "confirm", "ship"])
    parser.add_argument("--calls", type=int, default=0)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    lifecycle.django_setup()
    from django.test import Client

    client = Client()

    def post(query, variables, role):
        response = client.post(
            "/graphql/",
            json.dumps({"query": query, "variables": variables}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {TOKENS[role]}",
        )
        return next(iter(response.json()["data"].values()))

    if args.operation == "me":
        calls = args.calls or 1000
        work = [lambda: post("{ me { userId } }", {}, "customer")] * (calls + 100)
    elif args.operation == "checkout":
        calls = args.calls or 200
        work = [lambda: post(CHECKOUT, NEW_ORDER, "customer")] * (calls + 20)
    else:
        calls = args.calls or 200
        steps = ["place", "confirm", "ship"][: ["place", "confirm", "ship"].index(args.operation) + 1]
        orders = [post(CHECKOUT, NEW_ORDER, "customer")["order"] for _ in range(calls + 20)]

        def step(name, order):
            if name == "place":
                return post(PLACE, {"id": order["id"]}, "customer")
            if name == "confirm":
                payment = {"method": "card", "reference": "p", "amount": order["total"]["amount"]}
                return post(CONFIRM, {"id": order["id"], "payment": payment}, "staff")
            return post(SHIP, {"id": order["id"], "carrier": "UPS", "tracking": "1Z"}, "vendor-acme")

        for name in steps[:-1]:
            orders = [step(name, order)["order"] for order in orders]
        work = [lambda order=order: step(steps[-1], order) for order in orders]
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
    print(
        f"{args.operation}: {calls} calls in-process on {lifecycle.PG}/oms_bench, CPU p50 "
        f"{cpu[len(cpu) // 2] * 1000:.3f} ms{' (under cProfile)' if profiler else ''}"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
