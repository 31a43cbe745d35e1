from django.apps import AppConfig


class OrderingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "ordering"
    verbose_name = "Ordering"

    def ready(self) -> None:
        from oms_project.kernel.graphql_common import writes_on_query

        # The first `invoice(orderId)` issues the invoice: that query runs on the primary.
        writes_on_query("invoice")

        from .application import services
        from .infrastructure.order_queries import OrmOrderReader
        from .infrastructure.outbox_feed import OrmOutboxFeed
        from .infrastructure.sales_channels import OrmSalesChannels
        from .infrastructure.unit_of_work import DjangoUnitOfWork

        services.provide(
            services.Adapters(
                unit_of_work=DjangoUnitOfWork,
                order_reader=OrmOrderReader,
                sales_channels=OrmSalesChannels,
                channel_registry=OrmSalesChannels,
                outbox_feed=OrmOutboxFeed,
            )
        )
