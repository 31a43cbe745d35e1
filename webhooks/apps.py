from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from oms_project.kernel.metrics import collect_at_scrape

        from .infrastructure.metrics import RelayBacklogCollector

        collect_at_scrape("relay", RelayBacklogCollector)
