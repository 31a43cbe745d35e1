"""The tenant's workflow (review thresholds, return window), from its snapshot."""

from __future__ import annotations

from snapshots.domain.workflow import TenantWorkflow
from snapshots.infrastructure import models as snapshot_models

from .catalog import OrmCatalogReader, workflow_from_row


class OrmWorkflowReader:
    def __init__(self, tenant_id: str, catalog: OrmCatalogReader | None = None) -> None:
        self.tenant_id = tenant_id
        self.catalog = catalog

    def get(self) -> TenantWorkflow:
        """The tenant's workflow: the one the unit of work's catalog load brought, if any."""
        if self.catalog is not None and self.catalog.workflow is not None:
            return self.catalog.workflow
        row = snapshot_models.TenantWorkflowSnapshot.objects.filter(tenant_id=self.tenant_id).first()
        return workflow_from_row(row)
