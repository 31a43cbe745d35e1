from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IdentityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "identity"
    verbose_name = "Identity and tenants"

    def ready(self) -> None:
        # The kernel asks the identity app who sees what in the admin and what a tenant may use.
        from oms_project.kernel.admin_scope import provide_admin_scopes
        from oms_project.kernel.admission import provide_tenant_limits

        from .infrastructure.admin_staff import ensure_admin_groups_after_migrate, scope_of
        from .infrastructure.tenants import admission_limits

        provide_admin_scopes(scope_of)
        provide_tenant_limits(admission_limits)

        post_migrate.connect(
            ensure_admin_groups_after_migrate, sender=self, dispatch_uid="identity.ensure_admin_groups"
        )
        # Admin sign-in failures and lockouts are counted in /metrics and logged.
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_login_failed

        from oms_project.kernel.metrics import count_lockout, count_login_failure

        user_login_failed.connect(count_login_failure, dispatch_uid="oms.count_login_failure")
        user_locked_out.connect(count_lockout, dispatch_uid="oms.count_lockout")
