"""Shared Django admin pieces."""


class ReadOnlyAdminMixin:
    """Staff may look, never add, edit or delete: the data is owned by another system or changes
    only through the application handlers."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
