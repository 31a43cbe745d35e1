"""The catalog an order is priced from: products, vendors, offers, coupons, shipping, tax and
payment options of the tenant, read from the snapshot tables in one statement."""

from __future__ import annotations

from oms_project.kernel import prepared
from ordering.domain.checkout import Catalog
from snapshots.domain.catalog import PaymentOption, TaxOption
from snapshots.domain.workflow import TenantWorkflow
from snapshots.infrastructure import models as snapshot_models
from snapshots.infrastructure.catalog_reader import (
    coupon_from_row,
    offer_from_row,
    product_from_row,
    shipping_option_from_row,
    vendor_from_row,
)

from .. import json_rows, models


def _catalog_sql(payment_options: bool) -> str:
    """Everything one cart refers to, in one statement (PostgreSQL): one JSON array per table, and
    the tenant's workflow (placement reads it next)."""

    def rows(model, where: str) -> str:
        return (
            f"(SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]'::jsonb)::text FROM {model._meta.db_table} AS r "
            f"WHERE r.tenant_id = %(tenant)s AND {where})"
        )

    vendors = "r.vendor_id IN (SELECT vendor_id FROM products)"
    product = snapshot_models.ProductSnapshot._meta.db_table
    return (
        f"WITH products AS (SELECT * FROM {product} WHERE tenant_id = %(tenant)s AND product_id = ANY(%(products)s))\n"
        "SELECT (SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]'::jsonb)::text FROM products AS r),\n       "
        + ",\n       ".join(
            [
                rows(snapshot_models.VendorSnapshot, vendors),
                rows(snapshot_models.OfferSnapshot, f"{vendors} AND r.active"),
                rows(snapshot_models.CouponSnapshot, "r.code = ANY(%(coupons)s)"),
                rows(models.CouponUsage, "r.code = ANY(%(coupons)s)"),
                rows(snapshot_models.ShippingOptionSnapshot, "r.option_id = ANY(%(options)s)"),
                rows(snapshot_models.TaxOptionSnapshot, f"{vendors} AND r.active"),
                rows(snapshot_models.PaymentOptionSnapshot, "r.active") if payment_options else "'[]'",
                f"(SELECT to_jsonb(r)::text FROM {snapshot_models.TenantWorkflowSnapshot._meta.db_table} AS r "
                "WHERE r.tenant_id = %(tenant)s LIMIT 1)",
            ]
        )
    )


CATALOG_SQL = {wanted: _catalog_sql(wanted) for wanted in (False, True)}  # with or without payment options


class OrmCatalogReader:
    """Loads the snapshots one cart refers to: one statement on PostgreSQL, a fixed number of
    queries elsewhere. On PostgreSQL it also brings the tenant's workflow (`workflow`)."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.workflow: TenantWorkflow | None = None  # set by a PostgreSQL load

    def load(
        self, *, product_ids: list[str], coupon_codes: list[str], option_ids: list[str], payment_options: bool = False
    ) -> Catalog:
        if prepared.on_postgresql():
            rows = self._load_sql(product_ids, coupon_codes, option_ids, payment_options)
        else:
            rows = self._load_orm(product_ids, coupon_codes, option_ids, payment_options)
        products, vendors, offers, coupons, uses, options, taxes, payments = rows
        products = [product_from_row(row) for row in products]
        return Catalog(
            products={p.product_id: p for p in products},
            vendors={v.vendor_id: v for v in map(vendor_from_row, vendors)},
            offers=[offer_from_row(row) for row in offers],
            coupons={c.code: c for c in map(coupon_from_row, coupons)},
            coupon_uses={row.code: row.used for row in uses},
            shipping_options={o.option_id: o for o in map(shipping_option_from_row, options)},
            tax_options={
                r.tax_key: TaxOption(r.tax_key, r.vendor_id, r.country, r.rate, r.inclusive, r.active, r.version)
                for r in taxes
            },
            payment_options={
                r.option_id: PaymentOption(r.option_id, r.vendor_id, r.method, r.name, r.active, r.version)
                for r in payments
            },
        )

    def _load_sql(self, product_ids, coupon_codes, option_ids, payment_options) -> list[list]:
        with prepared.cursor() as cursor:
            cursor.execute(
                CATALOG_SQL[bool(payment_options)],
                {
                    "tenant": self.tenant_id,
                    "products": list(product_ids),
                    "coupons": list(coupon_codes),
                    "options": list(option_ids),
                },
            )
            *arrays, workflow = cursor.fetchone()
        kinds = (
            snapshot_models.ProductSnapshot,
            snapshot_models.VendorSnapshot,
            snapshot_models.OfferSnapshot,
            snapshot_models.CouponSnapshot,
            models.CouponUsage,
            snapshot_models.ShippingOptionSnapshot,
            snapshot_models.TaxOptionSnapshot,
            snapshot_models.PaymentOptionSnapshot,
        )
        row = json_rows.row(snapshot_models.TenantWorkflowSnapshot, json_rows.loads(workflow)) if workflow else None
        self.workflow = workflow_from_row(row)
        return [[json_rows.row(model, data) for data in json_rows.loads(text)] for model, text in zip(kinds, arrays)]

    def _load_orm(self, product_ids, coupon_codes, option_ids, payment_options) -> list[list]:
        tenant = self.tenant_id
        products = list(snapshot_models.ProductSnapshot.objects.filter(tenant_id=tenant, product_id__in=product_ids))
        vendor_ids = sorted({p.vendor_id for p in products})
        return [
            products,
            list(snapshot_models.VendorSnapshot.objects.filter(tenant_id=tenant, vendor_id__in=vendor_ids)),
            list(snapshot_models.OfferSnapshot.objects.filter(tenant_id=tenant, vendor_id__in=vendor_ids, active=True)),
            list(snapshot_models.CouponSnapshot.objects.filter(tenant_id=tenant, code__in=coupon_codes))
            if coupon_codes
            else [],
            list(models.CouponUsage.objects.filter(tenant_id=tenant, code__in=coupon_codes)) if coupon_codes else [],
            list(snapshot_models.ShippingOptionSnapshot.objects.filter(tenant_id=tenant, option_id__in=option_ids))
            if option_ids
            else [],
            list(
                snapshot_models.TaxOptionSnapshot.objects.filter(
                    tenant_id=tenant, vendor_id__in=vendor_ids, active=True
                )
            )
            if vendor_ids
            else [],
            list(snapshot_models.PaymentOptionSnapshot.objects.filter(tenant_id=tenant, active=True))
            if payment_options
            else [],
        ]


def workflow_from_row(row) -> TenantWorkflow:
    if row is None:
        return TenantWorkflow()
    return TenantWorkflow(row.review_required, row.review_min_total, row.return_window_days, row.version)
