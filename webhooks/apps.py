from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from oms_project.kernel.metrics import collect_at_scrape
        from ordering.application import services as ordering

        from .infrastructure.metrics import RelayBacklogCollector
        from .infrastructure.personal_data import erase_from_deliveries

        collect_at_scrape("relay", RelayBacklogCollector)
        ordering.add_erasure_participant(erase_from_deliveries)
