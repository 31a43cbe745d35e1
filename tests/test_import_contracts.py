"""The import contracts (pyproject.toml, `lint-imports` in `make check`) hold on the tree, and a
wrong-way import breaks them: a copy of the tree with one added fails the check."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("oms_project", "identity", "snapshots", "ordering", "webhooks")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree)},
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the project's packages and its tool settings."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "static", "templates")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_contract(tree):
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "oms_project/kernel/wrong_way.py",
            "import ordering.application.handlers.lifecycle",
            "The kernel imports no app",
        ),
        ("ordering/application/wrong_way.py", "from django.db import models", "application layers import no"),
        ("snapshots/domain/wrong_way.py", "import graphene", "The domain layers are plain Python"),
        ("ordering/domain/wrong_way.py", "from ordering.infrastructure import models", "Inside each app"),
        ("webhooks/api/wrong_way.py", "from oms_project import graphql_view", "never import the composition root"),
        ("webhooks/api/wrong_way2.py", "from snapshots.infrastructure import models", "webhooks imports other apps'"),
    ],
)
def test_a_wrong_way_import_breaks_a_contract(tree, module, line, contract):
    (tree / module).write_text(f"{line}\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if " BROKEN" in row]
    assert any(contract in row for row in broken), result.stdout
