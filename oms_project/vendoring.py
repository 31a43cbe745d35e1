"""Copy pinned npm builds into the app's static files, with a manifest CI checks.

`make graphiql-assets` and `make dashboard-assets` run `npm ci` in oms_project/graphiql or
oms_project/charts, then their `vendor.py`, which calls `copy_pinned`. The manifest names each
served file's npm package, version and SHA-256; tests/test_graphiql_browser.py and
tests/ordering/test_dashboard.py check it against package-lock.json and the files, so a hand edit
or a half-done upgrade fails CI. Nothing runs npm at set-up: the copies are committed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path


def copy_pinned(here: Path, target: Path, files: tuple[tuple[str, str, str], ...]) -> None:
    """`files`: (package, file inside the package, name served), from `here`/node_modules."""
    lock = json.loads((here / "package-lock.json").read_text())["packages"]
    target.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for package, source, name in files:
        shutil.copyfile(here / "node_modules" / package / source, target / name)
        manifest[name] = {
            "package": package,
            "version": lock[f"node_modules/{package}"]["version"],
            "source": source,
            "sha256": hashlib.sha256((target / name).read_bytes()).hexdigest(),
        }
    (target / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"copied {len(manifest)} files into {target}")
