"""What the benchmarks share."""

from __future__ import annotations


def recreate_database(url: str) -> None:
    """Drop (closing its connections) and create the PostgreSQL database `url` names."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
