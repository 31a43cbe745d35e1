from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IdentityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "identity"
    verbose_name = "Identity and tenants"

    def ready(self) -> None:
        from .infrastructure.admin_staff import ensure_admin_groups_after_migrate

        post_migrate.connect(ensure_admin_groups_after_migrate, sender=self,
                             dispatch_uid="identity.ensure_admin_groups")
