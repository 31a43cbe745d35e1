"""Copy the pinned GraphiQL builds from node_modules into the app's static files
(`make graphiql-assets`; oms_project/vendoring.py)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from oms_project.vendoring import copy_pinned  # noqa: E402

# (package, file inside the package, name served)
FILES = (
    ("react", "umd/react.production.min.js", "react.production.min.js"),
    ("react-dom", "umd/react-dom.production.min.js", "react-dom.production.min.js"),
    ("graphiql", "dist/index.umd.js", "graphiql.min.js"),
    ("graphiql", "dist/style.css", "graphiql.min.css"),
)

if __name__ == "__main__":
    copy_pinned(HERE, HERE.parent / "static" / "graphiql" / "vendor", FILES)
