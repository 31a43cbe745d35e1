"""Copy the pinned GraphiQL builds from node_modules into the app's static files.

Run by `make graphiql-assets` after `npm ci` here. Writes `static/graphiql/vendor/MANIFEST.json`:
each file's npm package, version and SHA-256, which tests/test_graphiql_browser.py checks against
package-lock.json and the files, so a hand edit or a half-done upgrade fails CI.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE.parent / "static" / "graphiql" / "vendor"
# (package, file inside the package, name served)
FILES = (
    ("react", "umd/react.production.min.js", "react.production.min.js"),
    ("react-dom", "umd/react-dom.production.min.js", "react-dom.production.min.js"),
    ("graphiql", "dist/index.umd.js", "graphiql.min.js"),
    ("graphiql", "dist/style.css", "graphiql.min.css"),
)


def main() -> None:
    lock = json.loads((HERE / "package-lock.json").read_text())["packages"]
    TARGET.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for package, source, name in FILES:
        shutil.copyfile(HERE / "node_modules" / package / source, TARGET / name)
        manifest[name] = {
            "package": package,
            "version": lock[f"node_modules/{package}"]["version"],
            "source": source,
            "sha256": hashlib.sha256((TARGET / name).read_bytes()).hexdigest(),
        }
    (TARGET / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"copied {len(manifest)} files into {TARGET}")


if __name__ == "__main__":
    main()
