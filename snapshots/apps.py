from django.apps import AppConfig


class SnapshotsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "snapshots"
    verbose_name = "Snapshots (read-only copies of upstream data)"

    def ready(self) -> None:
        from oms_project.kernel.metrics import collect_at_scrape

        from .infrastructure.metrics import StockCollector

        collect_at_scrape("stock", StockCollector)

        from .application import services
        from .infrastructure.customer_store import OrmCustomerStore
        from .infrastructure.snapshot_writer import OrmSnapshotWriter
        from .infrastructure.stock_report import OrmStockReport

        services.provide(
            customer_store=OrmCustomerStore, snapshot_writer=OrmSnapshotWriter, stock_report=OrmStockReport
        )
