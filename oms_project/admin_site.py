"""The admin site: Django's, with the dashboard on its start page (ordering/admin_dashboard.py).

`OmsAdminConfig` replaces `django.contrib.admin` in INSTALLED_APPS so that `admin.site` (what every
app registers its models with) is an `OmsAdminSite`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse


class OmsAdminSite(AdminSite):
    index_template = "admin/oms_index.html"

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        from ordering.admin_dashboard import dashboard_context

        return super().index(request, {**dashboard_context(request), **(extra_context or {})})


class OmsAdminConfig(AdminConfig):
    default_site = "oms_project.admin_site.OmsAdminSite"
