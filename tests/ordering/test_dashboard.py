"""The admin dashboard (docs/admin.md, "Dashboard"): the daily rollup kept exact as orders
change (and equal to a rebuild from the orders), the figures on the admin's start page for
tenant staff and per tenant for operators, a bad range refused with its code, the charting
library pinned and checked like GraphiQL's, and on PostgreSQL a tenant's staff seeing only their
tenant's figures in a bounded number of statements."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from identity.domain.principal import Principal, Role
from ordering.application import dashboard as d
from ordering.domain import sales_figures as sf
from ordering.domain.errors import Forbidden, Invalid
from ordering.infrastructure import daily_figures, models
from snapshots.application import services as snapshots

from ..conftest import requires_postgres
from ..test_admin_tenancy import staff_of
from .conftest import Shop, seed_catalog
from .test_api_fulfilment import line_of

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "oms_project" / "static" / "dashboard" / "vendor"


def figures_of(tenant_id: str) -> dict[tuple, tuple[int, Decimal]]:
    """The rollup summed over slots, without rows that net to zero."""
    rows = (
        models.DailyFigure.objects.filter(tenant_id=tenant_id)
        .values("day", "metric", "currency", "key")
        .annotate(n=Sum("count"), total=Sum("amount"))
    )
    return {
        (r["day"], r["metric"], r["currency"], r["key"]): (r["n"], r["total"]) for r in rows if r["n"] or r["total"]
    }


def busy_day(shop: Shop) -> dict[str, dict]:
    """Orders in every state the dashboard counts: placed, shipped, cancelled, refunded, amended."""
    shipped = shop.confirmed()
    packed = shop.ok("addShipment", shop.acme, orderId=shipped["id"])
    shop.ok(
        "addShippingTrackingReference",
        shop.acme,
        orderId=shipped["id"],
        shipmentId=packed["shipments"][0]["id"],
        carrier="UPS",
        trackingNumber="1Z",
    )
    cancelled = shop.placed((("mug", 2),))
    shop.ok("cancelOrder", shop.staff, orderId=cancelled["id"], reason="changed mind")
    amended = shop.confirmed()
    lamp = line_of(amended, "globex")
    amended = shop.ok("removeLineItems", shop.staff, orderId=amended["id"], lineIds=[lamp["id"]])
    owed = amended["paymentAdjustment"]["amount"]
    shop.ok("processRefund", shop.staff, orderId=amended["id"], amount=owed[1:], reason="amended")
    draft = shop.draft()
    return {"shipped": shipped, "cancelled": cancelled, "amended": amended, "draft": draft}


def staff_principal(tenant_id: str) -> Principal:
    return Principal(user_id="admin:x", tenant_id=tenant_id, roles=frozenset({Role.STAFF}))


# -- the domain's rule, without Django ----------------------------------------------------------


def test_buckets_and_percentiles():
    assert sf.lead_bucket(0) == 0 and sf.lead_bucket(sf.HOUR // 4) == 0 and sf.lead_bucket(sf.HOUR // 4 + 1) == 1
    assert sf.lead_bucket(10**9) == len(sf.LEAD_BOUNDS)
    assert sf.lead_percentile({}, 0.5) is None
    # 10 orders in (1 h, 2 h]: the median is halfway through the bucket.
    assert sf.lead_percentile({sf.lead_bucket(1.5 * sf.HOUR): 10}, 0.5) == 1.5 * sf.HOUR
    # 9 fast and 1 in the open last bucket: p90 stays in the fast bucket, p100 reads the open one's bound.
    buckets = {0: 9, len(sf.LEAD_BOUNDS): 1}
    assert sf.lead_percentile(buckets, 0.9) == sf.LEAD_BOUNDS[0]
    assert sf.lead_percentile(buckets, 1.0) == sf.LEAD_BOUNDS[-1]


def test_a_change_nets_out_what_did_not_move():
    day = date(2026, 1, 1)
    same = sf.FigureKey(day, sf.PLACED, "USD", "")
    gone = sf.FigureKey(day, sf.PRODUCT, "USD", "A")
    new = sf.FigureKey(day + timedelta(days=3), sf.CANCELLED, "USD", "")
    before = {same: sf.Figure(1, Decimal("10")), gone: sf.Figure(2, Decimal("8"))}
    after = {same: sf.Figure(1, Decimal("10")), new: sf.Figure(1, Decimal("10"))}
    assert sf.change(before, after) == [(gone, sf.Figure(-2, Decimal("-8"))), (new, sf.Figure(1, Decimal("10")))]
    assert sf.change(after, after) == []


# -- the rollup, kept in the transaction of each change ------------------------------------------


def test_the_rollup_follows_every_change_and_equals_a_rebuild(shop):
    orders = busy_day(shop)
    today = datetime.now(UTC).date()
    kept = figures_of(shop.tenant.id)
    placed = kept[(today, sf.PLACED, "USD", "")]
    assert placed[0] == 3  # the draft is not counted
    totals = [Decimal(orders[k]["total"]["amount"]) for k in ("shipped", "cancelled", "amended")]
    assert placed[1] == sum(totals)  # the amended order counts at its amended total
    assert kept[(today, sf.CANCELLED, "USD", "")] == (1, Decimal(orders["cancelled"]["total"]["amount"]))
    assert kept[(today, sf.REFUNDED, "USD", "")][0] == 1
    assert kept[(today, sf.SHIPPED, "USD", "0")][0] == 1  # shipped within a quarter hour of placing
    units = {key[3]: value[0] for key, value in kept.items() if key[1] == sf.PRODUCT}
    assert units == {"ACME-MUG": 1 + 2 + 1, "GLX-LAMP": 1}

    models.DailyFigure.objects.filter(tenant_id=shop.tenant.id).delete()
    out = io.StringIO()
    call_command("rebuild_dashboard", shop.tenant.id, stdout=out)
    assert figures_of(shop.tenant.id) == kept and f"{shop.tenant.id}: 3 placed orders read" in out.getvalue()
    with pytest.raises(CommandError, match="unknown tenant nope"):
        call_command("rebuild_dashboard", "nope")


def test_the_dashboard_reads_the_rollup_and_refuses_a_bad_range(shop):
    busy_day(shop)
    today = datetime.now(UTC).date()
    figures = daily_figures.OrmDashboardFigures(shop.tenant.id)
    board = d.show_dashboard(staff_principal(shop.tenant.id), d.default_range(today), figures, snapshots.stock_report())
    assert len(board.days) == d.DEFAULT_DAYS and board.days[-1] == today
    [usd] = board.series
    assert usd.orders[-1] == 3 and sum(usd.orders) == 3
    assert dict(board.by_status)["CANCELLED"] == 1 and "DRAFT" not in dict(board.by_status)
    assert board.shipped == 1 and 0 < board.lead_p50 <= sf.LEAD_BOUNDS[0]
    best = board.top_products[0]
    assert (best.sku, best.units, best.name) == ("ACME-MUG", 4, "Blue mug")
    assert board.backlog >= 1 and board.backlog_oldest is not None  # no relay runs in the suite

    with pytest.raises(Invalid) as refused:
        d.show_dashboard(
            staff_principal(shop.tenant.id), d.ShowDashboard(today, today - timedelta(days=1)), figures, None
        )
    assert refused.value.field == "since"
    with pytest.raises(Invalid):
        d.show_dashboard(
            staff_principal(shop.tenant.id), d.ShowDashboard(today - timedelta(days=400), today), figures, None
        )
    customer = Principal(user_id="c", tenant_id=shop.tenant.id, roles=frozenset({Role.CUSTOMER}))
    with pytest.raises(Forbidden):
        d.show_dashboard(customer, d.default_range(today), figures, None)


def test_the_start_page_shows_staff_their_dashboard_with_charts_and_tables(client, shop):
    busy_day(shop)
    client.force_login(staff_of(shop.tenant))
    page = client.get("/admin/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="dashboard"' in html and "dashboard/vendor/chart.umd.min.js" in html
    assert 'id="dashboard-data"' in html and "<table>" in html and 'role="img"' in html
    data = json.loads(html.split('id="dashboard-data" type="application/json">')[1].split("</script>")[0])
    assert data["series"][0]["currency"] == "USD" and sum(data["series"][0]["orders"]) == 3
    assert "script-src" not in page["Content-Security-Policy"]  # default-src 'self': no inline script runs

    refused = client.get("/admin/", {"since": "2026-02-01", "until": "2026-01-01"}).content.decode()
    assert "INVALID: since must not be after until" in refused and 'id="dashboard-data"' in refused  # the default
    garbled = client.get("/admin/", {"since": "yesterday"}).content.decode()
    assert "INVALID: since is not a date (YYYY-MM-DD)" in garbled


def test_operators_pick_a_tenant_and_unbound_staff_see_no_dashboard(client, shop, admin_user, other_tenant):
    busy_day(shop)
    client.force_login(admin_user)
    page = client.get("/admin/").content.decode()
    assert 'id="dashboard-tenant"' in page and "Choose a tenant" in page and 'id="dashboard-data"' not in page
    picked = client.get("/admin/", {"tenant": shop.tenant.id}).content.decode()
    assert 'id="dashboard-data"' in picked
    other = client.get("/admin/", {"tenant": other_tenant.id}).content.decode()
    assert '"orders": [0' in other or "None in this range" in other
    unknown = client.get("/admin/", {"tenant": "no-such-tenant"}).content.decode()
    assert 'id="dashboard-data"' not in unknown

    from django.contrib.auth.models import User

    nobody = User.objects.create_user("unbound", password="x", is_staff=True)
    client.force_login(nobody)
    assert 'id="dashboard"' not in client.get("/admin/").content.decode()


def test_the_charting_library_is_the_pinned_build():
    manifest = json.loads((ASSETS / "MANIFEST.json").read_text())
    lock = json.loads((ROOT / "oms_project" / "charts" / "package-lock.json").read_text())["packages"]
    pins = json.loads((ROOT / "oms_project" / "charts" / "package.json").read_text())["dependencies"]
    for name, entry in manifest.items():
        assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == entry["sha256"], name
        assert lock[f"node_modules/{entry['package']}"]["version"] == entry["version"] == pins[entry["package"]]


@requires_postgres
def test_staff_see_only_their_tenants_figures_in_bounded_statements(
    client, shop, gql, other_tenant, django_assert_max_num_queries
):
    """Two tenants with orders; tenant B's staff page runs under B's row-level security scope and
    shows B's figures only, in a fixed number of statements."""
    busy_day(shop)
    seed_catalog(other_tenant.id)
    other = Shop(gql, other_tenant)
    other.placed((("lamp", 5),))
    client.force_login(staff_of(other_tenant))
    with django_assert_max_num_queries(30):
        html = client.get("/admin/").content.decode()
    data = json.loads(html.split('id="dashboard-data" type="application/json">')[1].split("</script>")[0])
    assert sum(data["series"][0]["orders"]) == 1
    assert data["products"] == ["GLX-LAMP"] and data["product_units"] == [5]
    assert data["status_counts"][data["statuses"].index("CANCELLED")] == 0
