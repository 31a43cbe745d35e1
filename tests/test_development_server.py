"""The configuration `make run` uses (DEBUG=1, SQLite, seed_demo) serves `me` for every token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CLIENT = """
import json, sys, django
django.setup()
from django.test import Client
client = Client()
for token in json.loads(sys.argv[1]):
    response = client.post("/graphql/", json.dumps({"query": "{ me { userId roles customer { email } } }"}),
                           content_type="application/json", HTTP_AUTHORIZATION="Bearer " + token)
    print(response.status_code, json.dumps(response.json()))
"""


def test_debug_configuration_serves_me_for_each_seeded_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL"}}
    env.update(
        DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite3'}", DJANGO_SETTINGS_MODULE="oms_project.settings"
    )

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    manage("migrate", "--noinput", "-v0")
    seeded = manage("seed_demo")
    tokens = [line.strip() for line in seeded.splitlines() if line.strip().startswith("eyJ")]
    assert len(tokens) == 3

    result = subprocess.run(
        [sys.executable, "-c", CLIENT, json.dumps(tokens)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    answers = [line.split(" ", 1) for line in result.stdout.strip().splitlines()]
    assert [status for status, _ in answers] == ["200", "200", "200"], result.stdout
    users = [json.loads(body)["data"]["me"]["userId"] for _, body in answers]
    assert users == ["demo-customer", "demo-vendor", "demo-staff"]
