from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_when_migrated(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_readyz_reports_unapplied_migrations(client, db):
    app, name = next(node for node in MigrationLoader(connection).graph.leaf_nodes() if node[0] == "snapshots")
    MigrationRecorder(connection).record_unapplied(app, name)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert f"snapshots.{name}" in response.json()["unapplied_migrations"]


def test_health_endpoints_need_no_token_and_refuse_writes(client, db):
    assert client.post("/healthz").status_code == 405
