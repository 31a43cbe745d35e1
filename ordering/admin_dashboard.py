"""The dashboard on the admin's start page (docs/admin.md, "Dashboard").

Tenant staff see their tenant's; a platform operator picks a tenant (`?tenant=`); any other
staff user sees none. `?since=` and `?until=` (ISO dates, inclusive) choose the range, the last
30 days by default. The figures come from `ordering.application.dashboard.show_dashboard`; the
page draws them with Chart.js (served from the app's static files, oms_project/static/dashboard)
and shows each chart's numbers as a table too.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from oms_project.kernel.admin_scope import admin_scope_of
from oms_project.kernel.errors import CodedError
from oms_project.kernel.money_display import money
from oms_project.kernel.tenancy import tenant_model
from ordering.application import dashboard as d
from ordering.domain.errors import Invalid
from snapshots.application import services as snapshots

from .admin_principal import admin_principal
from .infrastructure.daily_figures import OrmDashboardFigures


def _date(request: HttpRequest, name: str) -> date | None:
    """The ISO date in `?<name>=`, None when absent; a value that is not a date is refused."""
    value = request.GET.get(name)
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise Invalid(f"{name} is not a date (YYYY-MM-DD)", field=name) from None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """What the start page shows above the list of models: `{}` for a user who sees no tenant."""
    scope = admin_scope_of(request.user)
    if scope.sees_nothing:
        return {}
    tenants: list[tuple[str, str]] = []
    if scope.everything:
        tenants = list(tenant_model().objects.order_by("pk").values_list("pk", "name"))
        chosen = request.GET.get("tenant") or ""
        tenant_id = chosen if chosen in {pk for pk, _ in tenants} else None
    else:
        tenant_id = scope.tenant_id
    context: dict[str, Any] = {"dashboard_tenants": tenants, "dashboard_tenant": tenant_id}
    if tenant_id is None:
        return context
    today = timezone.now().date()
    default = d.default_range(today)
    principal = admin_principal(request, tenant_id)
    try:
        command = d.ShowDashboard(_date(request, "since") or default.since, _date(request, "until") or default.until)
        board = d.show_dashboard(principal, command, OrmDashboardFigures(tenant_id), snapshots.stock_report())
    except CodedError as error:
        context["dashboard_error"] = f"{error.code}: {error.message}"
        board = d.show_dashboard(principal, default, OrmDashboardFigures(tenant_id), snapshots.stock_report())
    context["dashboard"] = board
    context["dashboard_view"] = _view(board)
    return context


def _view(board: d.Dashboard) -> dict[str, Any]:
    """The figures as the template and the charts read them (amounts as numbers for the charts,
    formatted strings for the tables)."""
    days = [day.isoformat() for day in board.days]
    return {
        "chart": {
            "days": days,
            "series": [
                {
                    "currency": line.currency,
                    "orders": line.orders,
                    "revenue": [float(amount) for amount in line.revenue],
                }
                for line in board.series
            ],
            "statuses": [status for status, _ in board.by_status],
            "status_counts": [count for _, count in board.by_status],
            "products": [product.sku for product in board.top_products],
            "product_units": [product.units for product in board.top_products],
        },
        "rows": [
            {
                "day": day,
                "cells": [(line.orders[n], money(line.revenue[n], line.currency)) for line in board.series],
            }
            for n, day in enumerate(days)
        ],
        "placed": [(a.currency, a.count, money(a.amount, a.currency)) for a in board.placed],
        "cancelled": [(a.currency, a.count, money(a.amount, a.currency)) for a in board.cancelled],
        "refunded": [(a.currency, a.count, money(a.amount, a.currency)) for a in board.refunded],
        "lead_p50": _duration(board.lead_p50),
        "lead_p90": _duration(board.lead_p90),
        "backlog_oldest": _duration(board.backlog_oldest),
        "products": [(p.sku, p.name, p.units, money(p.amount, p.currency)) for p in board.top_products],
    }
