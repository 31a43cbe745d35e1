"""What the benchmarks share."""

from __future__ import annotations


def recreate_database(url: str) -> None:
    """Drop (closing its connections) and create the PostgreSQL database `url` names."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def results_of(queue, processes, timeout: float) -> list:
    """One result from each load process, in the order they arrive. A process that dies without
    one (an exception in a client) or a run past `timeout` seconds stops the benchmark at once,
    its processes killed, so the caller's `finally` stops the server (a benchmark that waited on
    its queue instead left its gunicorn running)."""
    import queue as queues
    import time

    results, deadline = [], time.monotonic() + timeout
    while len(results) < len(processes):
        try:
            results.append(queue.get(timeout=1))
        except queues.Empty:
            failed = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            if failed or time.monotonic() > deadline:
                for process in processes:
                    process.kill()
                raise SystemExit(
                    f"a load process failed (exit codes {failed}) or the run passed {timeout:.0f} s"
                ) from None
    return results
