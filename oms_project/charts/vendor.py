"""Copy the pinned Chart.js build from node_modules into the app's static files
(`make dashboard-assets`; oms_project/vendoring.py)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from oms_project.vendoring import copy_pinned  # noqa: E402

# (package, file inside the package, name served)
FILES = (("chart.js", "dist/chart.umd.min.js", "chart.umd.min.js"),)

if __name__ == "__main__":
    copy_pinned(HERE, HERE.parent / "static" / "dashboard" / "vendor", FILES)
