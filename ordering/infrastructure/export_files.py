"""The files of the admin's background exports (docs/admin.md, "Exporting orders"): where they
are written, how long they are kept, and their removal with their rows.

An export's file is a copy of personal data (customers' names and emails), so the server keeps
it `OMS_EXPORT_KEEP_HOURS` after the export ended and no longer: from then on its download is
refused (EXPIRED), and the daily `manage.py purge_personal_data` deletes the file and its row.
An export still RUNNING `OMS_EXPORT_MAX_SECONDS` after it started was interrupted (the serving
process that ran its thread stopped); it is shown INTERRUPTED, its partial file is never offered,
and it is purged like a finished one, its end taken as that deadline.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q

from oms_project.kernel.tenancy import tenant_transaction

from .models import OrderExport

# States shown in the admin but never stored: they follow from the stored state and the clock.
INTERRUPTED, EXPIRED = "INTERRUPTED", "EXPIRED"


def export_dir() -> Path:
    directory = Path(settings.OMS_EXPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _keep() -> timedelta:
    return timedelta(hours=settings.OMS_EXPORT_KEEP_HOURS)


def _longest() -> timedelta:
    return timedelta(seconds=settings.OMS_EXPORT_MAX_SECONDS)


def ended_at(export: OrderExport) -> datetime | None:
    """When the export ended: when it finished, or (interrupted) the deadline it ran past."""
    if export.finished_at is not None:
        return export.finished_at
    if export.status == OrderExport.RUNNING:
        return export.created_at + _longest()
    return None


def shown_status(export: OrderExport, now: datetime) -> str:
    """RUNNING, DONE or FAILED as stored; INTERRUPTED for a RUNNING one past its deadline;
    EXPIRED for any whose keeping time has passed."""
    end = ended_at(export)
    if end is not None and end <= now:
        if end + _keep() <= now:
            return EXPIRED
        if export.status == OrderExport.RUNNING:
            return INTERRUPTED
    return export.status


def expired(now: datetime) -> Q:
    """The exports whose keeping time has passed (what `shown_status` calls EXPIRED)."""
    return Q(finished_at__lte=now - _keep()) | Q(
        status=OrderExport.RUNNING, finished_at=None, created_at__lte=now - _longest() - _keep()
    )


def delete_files(names: Iterable[str]) -> None:
    directory = export_dir()
    for name in names:
        if name:
            (directory / name).unlink(missing_ok=True)


def purge_expired(tenant_id: str, now: datetime) -> int:
    """Delete the tenant's expired exports with their files (in the tenant's transaction: row-level
    security holds); how many."""
    with tenant_transaction(tenant_id):
        rows = OrderExport.objects.filter(expired(now), tenant_id=tenant_id)
        names = list(rows.values_list("file_name", flat=True))
        deleted, _ = rows.delete()
        # The files go first if the transaction fails after this: a row whose file is missing
        # is refused (404), a file left without its row would be personal data nobody sees.
        delete_files(names)
    return deleted
