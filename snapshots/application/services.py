"""What the other apps use of snapshots, by port: the customer store, the snapshot writer and the
stock report (the dashboard).

Snapshots' `AppConfig.ready` provides its ORM adapters here (snapshots/infrastructure); another
app's code asks for them by these functions instead of importing snapshots' infrastructure, so
the import contracts hold (apps use each other's domain and application only).
"""

from __future__ import annotations

from collections.abc import Callable

from .changes import SnapshotWriter
from .ports import CustomerStore, StockReport

_customer_store: Callable[[], CustomerStore] | None = None
_snapshot_writer: Callable[[], SnapshotWriter] | None = None
_stock_report: Callable[[], StockReport] | None = None


def provide(
    *,
    customer_store: Callable[[], CustomerStore],
    snapshot_writer: Callable[[], SnapshotWriter],
    stock_report: Callable[[], StockReport],
) -> None:
    global _customer_store, _snapshot_writer, _stock_report
    _customer_store, _snapshot_writer, _stock_report = customer_store, snapshot_writer, stock_report


def customer_store() -> CustomerStore:
    """Customers' details, addresses and authorization snapshots (snapshots/application/customers.py)."""
    if _customer_store is None:
        raise RuntimeError("the snapshots app is not ready: no customer store was provided")
    return _customer_store()


def snapshot_writer() -> SnapshotWriter:
    """Where snapshot changes are written (snapshots/application/changes.py)."""
    if _snapshot_writer is None:
        raise RuntimeError("the snapshots app is not ready: no snapshot writer was provided")
    return _snapshot_writer()


def stock_report() -> StockReport:
    """Sold-out products and product names (snapshots/application/ports.py)."""
    if _stock_report is None:
        raise RuntimeError("the snapshots app is not ready: no stock report was provided")
    return _stock_report()
