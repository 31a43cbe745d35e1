"""Shared Django admin pieces: read-only admins, and the one place that scopes the admin per tenant.

Every `ModelAdmin` and inline of a tenant-owned model (one with a foreign key to the tenant)
derives from `TenantScopedAdmin` / `TenantScopedInline` and names its tenant field
(`tenant_field`, default `"tenant"`); `tests/test_admin_tenancy.py` fails when one does not. For
the request's user (`oms_project.kernel.admin_scope.admin_scope_of`):

- a platform operator sees every tenant, with the tenant as a column and the first filter;
- a tenant staff member sees and acts on their tenant only: the change list and its counts,
  search, the filters' choices, the change and history pages (another tenant's object: 404),
  actions (they only ever get the scoped queryset), inlines, autocomplete, and the choices of
  every foreign key to a tenant-owned model in a form; new objects belong to their tenant;
- any other staff user sees nothing tenant-owned (no module, no page).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.options import BaseModelAdmin
from django.db.models import Field, ForeignKey, Model, QuerySet
from django.forms import ModelChoiceField, ModelForm
from django.http import Http404, HttpRequest

from .admin_scope import AdminScope, admin_scope_of
from .tenancy import tenant_model


class ReadOnlyAdminMixin:
    """Staff may look, never add, edit or delete: the data is owned by another system or changes
    only through the application handlers."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def is_tenant_owned(model: type[Model]) -> bool:
    """A model whose rows belong to one tenant: it has a foreign key to the tenant registry."""
    tenant = tenant_model()
    return any(
        field.concrete and field.is_relation and field.related_model is tenant for field in model._meta.get_fields()
    )


class ScopedValuesListFilter(admin.AllValuesFieldListFilter):
    """Django's "all values" filter, with its choices taken from the admin's (scoped) queryset
    also when the field is reached through a relation (`event__type`): Django's own filter reads
    the related table unfiltered then."""

    def __init__(
        self,
        field: Field[Any, Any],
        request: HttpRequest,
        params: dict[str, list[str]],
        model: type[Model],
        model_admin: admin.ModelAdmin[Any],
        field_path: str,
    ) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = (
            model_admin.get_queryset(request).order_by(field_path).values_list(field_path, flat=True).distinct()
        )


if TYPE_CHECKING:
    _AdminBase = BaseModelAdmin[Any]
    _ModelAdmin = admin.ModelAdmin[Any]
else:  # subscripted for the type checker only
    _AdminBase = BaseModelAdmin
    _ModelAdmin = admin.ModelAdmin


class _TenantScope(_AdminBase):
    tenant_field = "tenant"

    def admin_scope(self, request: HttpRequest) -> AdminScope:
        return admin_scope_of(request.user)

    def scope_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        scope = self.admin_scope(request)
        if scope.everything:
            return queryset
        if scope.tenant_id is None:
            return queryset.none()
        return queryset.filter(**{self.tenant_field: scope.tenant_id})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.scope_queryset(request, super().get_queryset(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self.admin_scope(request).sees_nothing and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return not self.admin_scope(request).sees_nothing and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self.admin_scope(request).sees_nothing and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self.admin_scope(request).sees_nothing and super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        """Choices of a foreign key to the tenant, or to another tenant-owned model, are the
        user's tenant's only."""
        Tenant = tenant_model()
        scope = self.admin_scope(request)
        related = db_field.related_model
        if not scope.everything and "queryset" not in kwargs:
            if related is Tenant:
                kwargs["queryset"] = Tenant._default_manager.filter(pk=scope.tenant_id)
                kwargs["initial"] = scope.tenant_id
                kwargs["empty_label"] = None
            elif is_tenant_owned(related):
                kwargs["queryset"] = related._default_manager.filter(tenant=scope.tenant_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class TenantScopedAdmin(_TenantScope, _ModelAdmin):
    """The base of every tenant-owned model's admin (see the module docstring)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return not self.admin_scope(request).sees_nothing and super().has_module_permission(request)

    def _is_tenant_entry(self, entry: Any) -> bool:
        name = entry[0] if isinstance(entry, (tuple, list)) else entry
        return name in (self.tenant_field, f"{self.tenant_field}_id")

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        """Operators: the tenant is a column (where the class put it, else last). Tenant staff:
        no tenant column."""
        columns = list(super().get_list_display(request))
        if self.admin_scope(request).everything:
            return columns if any(map(self._is_tenant_entry, columns)) else [*columns, self.tenant_field]
        return [c for c in columns if not self._is_tenant_entry(c)]

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        """Operators: the tenant is the first filter. Tenant staff: no tenant filter, and every
        filter's choices come from their tenant's rows."""
        operator = self.admin_scope(request).everything
        filters = []
        for entry in super().get_list_filter(request):
            if self._is_tenant_entry(entry):
                continue
            if isinstance(entry, str) and "__" in entry:
                entry = (entry, ScopedValuesListFilter)
            filters.append(entry)
        return [self.tenant_field, *filters] if operator else filters

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        """Another tenant's object is not found, and not found is 404 (not Django's redirect
        with "doesn't exist", which would tell one tenant's staff what exists elsewhere)."""
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("not found")
        return obj

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm[Any], change: bool) -> None:
        scope = self.admin_scope(request)
        if not change and not scope.everything and self.tenant_field == "tenant":
            obj.tenant_id = scope.tenant_id  # a new object belongs to the user's tenant, whatever was posted
        super().save_model(request, obj, form, change)


class TenantScopedInline(_TenantScope):
    """Mix into an inline (`class LineInline(TenantScopedInline, admin.TabularInline)`)."""
