"""A small marketplace in tenant-a (and a twin in tenant-b), and a client that speaks api.md.

Vendors: acme (mug 12.50, kettle 39.00, ships US/CA/GB for 5 + 1/extra item, free over 75) and
globex (lamp 54.90, ships US/GB for 7.50). Coupons: WELCOME5 (5 USD off orders of 30+),
ACME10 (10% off acme's lines), ONCE (5% off, usage limit 1).
"""

from __future__ import annotations

from typing import Any

import pytest

from snapshots.domain.catalog import Coupon, Offer, Product, ShippingOption, Vendor
from snapshots.domain.customers import CustomerDetails
from snapshots.infrastructure.snapshot_writer import OrmSnapshotWriter
from tests.tokens import hs_token

ORDER_FIELDS = """
  id number status paymentStatus currency version createdAt updatedAt placedAt
  customer { userId email firstName lastName phone }
  shippingAddress { line1 line2 city state postalCode country }
  lines { id productId sku productName vendorId quantity unitPrice { amount currency }
          discount { amount } total { amount } shippedQuantity }
  shippingOptions { vendorId shippingOptionId name carrier cost { amount } waivedBy }
  coupons { code vendorId discount { amount } }
  subtotal { amount currency } discountTotal { amount } shippingTotal { amount } total { amount currency }
  taxTotal { amount } paymentOption { id method }
  payment { method reference amount { amount currency } paidAt }
  shipments { id vendorId status carrier trackingNumber lines { lineId quantity } shippedAt updatedAt }
  cancellation { reason by at } unfulfillableReason
  history { at actor fromStatus toStatus note }
  hold { reason note by at }
  review { status level assignee decidedBy note }
  revision paymentAdjustment { amount currency } deliveredAt
  returns { id vendorId status lines { lineId quantity } reason note receivedAt }
  refunds { id amount { amount } reason returnId by }
  refundedTotal { amount }
"""

PAYLOAD = f"order {{ {ORDER_FIELDS} }} errors {{ field code message }}"

US_ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postalCode": "12345", "country": "US"}
CUSTOMER = {"email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"}

MUTATIONS = {
    "checkoutItems": (
        "$items: [CheckoutItemInput!]!, $shippingAddress: AddressInput!, $customer: CustomerInput, "
        "$couponCodes: [String!], $shippingOptions: [ShippingOptionSelectionInput!], "
        "$idempotencyKey: String, $paymentOptionId: ID",
        "items: $items, shippingAddress: $shippingAddress, customer: $customer, "
        "couponCodes: $couponCodes, shippingOptions: $shippingOptions, idempotencyKey: $idempotencyKey, "
        "paymentOptionId: $paymentOptionId",
    ),
    "updateCheckoutItems": (
        "$orderId: ID!, $items: [CheckoutItemInput!]!, $expectedVersion: Int",
        "orderId: $orderId, items: $items, expectedVersion: $expectedVersion",
    ),
    "changeDestination": (
        "$orderId: ID!, $shippingAddress: AddressInput!, $expectedVersion: Int",
        "orderId: $orderId, shippingAddress: $shippingAddress, expectedVersion: $expectedVersion",
    ),
    "selectShippingOption": (
        "$orderId: ID!, $vendorId: ID!, $shippingOptionId: ID!, $expectedVersion: Int",
        "orderId: $orderId, vendorId: $vendorId, shippingOptionId: $shippingOptionId, "
        "expectedVersion: $expectedVersion",
    ),
    "applyCoupon": (
        "$orderId: ID!, $code: String!, $expectedVersion: Int",
        "orderId: $orderId, code: $code, expectedVersion: $expectedVersion",
    ),
    "removeCoupon": (
        "$orderId: ID!, $code: String!, $expectedVersion: Int",
        "orderId: $orderId, code: $code, expectedVersion: $expectedVersion",
    ),
    "placeOrder": (
        "$orderId: ID!, $expectedVersion: Int, $idempotencyKey: String, $paymentOptionId: ID",
        "orderId: $orderId, expectedVersion: $expectedVersion, idempotencyKey: $idempotencyKey, "
        "paymentOptionId: $paymentOptionId",
    ),
    "confirmOrder": (
        "$orderId: ID!, $payment: PaymentInput!, $expectedVersion: Int",
        "orderId: $orderId, payment: $payment, expectedVersion: $expectedVersion",
    ),
    "shipOrder": (
        "$orderId: ID!, $carrier: String!, $trackingNumber: String!, $lines: [ShipmentLineInput!], "
        "$expectedVersion: Int",
        "orderId: $orderId, carrier: $carrier, trackingNumber: $trackingNumber, lines: $lines, "
        "expectedVersion: $expectedVersion",
    ),
    "deliverOrder": ("$orderId: ID!, $expectedVersion: Int", "orderId: $orderId, expectedVersion: $expectedVersion"),
    "completeOrder": ("$orderId: ID!, $expectedVersion: Int", "orderId: $orderId, expectedVersion: $expectedVersion"),
    "markUnfulfillable": (
        "$orderId: ID!, $reason: String!, $expectedVersion: Int",
        "orderId: $orderId, reason: $reason, expectedVersion: $expectedVersion",
    ),
    "resumeOrder": ("$orderId: ID!, $expectedVersion: Int", "orderId: $orderId, expectedVersion: $expectedVersion"),
    "cancelOrder": (
        "$orderId: ID!, $reason: String!, $expectedVersion: Int",
        "orderId: $orderId, reason: $reason, expectedVersion: $expectedVersion",
    ),
    "addShipment": (
        "$orderId: ID!, $lines: [ShipmentLineInput!], $expectedVersion: Int",
        "orderId: $orderId, lines: $lines, expectedVersion: $expectedVersion",
    ),
    "addShippingTrackingReference": (
        "$orderId: ID!, $shipmentId: ID!, $carrier: String!, $trackingNumber: String!, $expectedVersion: Int",
        "orderId: $orderId, shipmentId: $shipmentId, carrier: $carrier, trackingNumber: $trackingNumber, "
        "expectedVersion: $expectedVersion",
    ),
    "cancelShipment": (
        "$orderId: ID!, $shipmentId: ID!, $reason: String!, $expectedVersion: Int",
        "orderId: $orderId, shipmentId: $shipmentId, reason: $reason, expectedVersion: $expectedVersion",
    ),
    "placeOnHold": (
        "$orderId: ID!, $reason: HoldReason!, $note: String, $expectedVersion: Int",
        "orderId: $orderId, reason: $reason, note: $note, expectedVersion: $expectedVersion",
    ),
    "releaseHold": (
        "$orderId: ID!, $note: String, $expectedVersion: Int",
        "orderId: $orderId, note: $note, expectedVersion: $expectedVersion",
    ),
    "reviewOrder": (
        "$orderId: ID!, $decision: ReviewDecision!, $note: String, $expectedVersion: Int",
        "orderId: $orderId, decision: $decision, note: $note, expectedVersion: $expectedVersion",
    ),
    "escalateReviewer": (
        "$orderId: ID!, $reviewerId: ID!, $note: String, $expectedVersion: Int",
        "orderId: $orderId, reviewerId: $reviewerId, note: $note, expectedVersion: $expectedVersion",
    ),
    "changeOrderQuantity": (
        "$orderId: ID!, $lineId: ID!, $quantity: Int!, $expectedVersion: Int",
        "orderId: $orderId, lineId: $lineId, quantity: $quantity, expectedVersion: $expectedVersion",
    ),
    "removeLineItems": (
        "$orderId: ID!, $lineIds: [ID!]!, $expectedVersion: Int",
        "orderId: $orderId, lineIds: $lineIds, expectedVersion: $expectedVersion",
    ),
    "requestReturn": (
        "$orderId: ID!, $lines: [ReturnLineInput!]!, $reason: String!, $expectedVersion: Int",
        "orderId: $orderId, lines: $lines, reason: $reason, expectedVersion: $expectedVersion",
    ),
    "approveReturn": (
        "$orderId: ID!, $returnId: ID!, $note: String, $expectedVersion: Int",
        "orderId: $orderId, returnId: $returnId, note: $note, expectedVersion: $expectedVersion",
    ),
    "rejectReturn": (
        "$orderId: ID!, $returnId: ID!, $reason: String!, $expectedVersion: Int",
        "orderId: $orderId, returnId: $returnId, reason: $reason, expectedVersion: $expectedVersion",
    ),
    "receiveReturn": (
        "$orderId: ID!, $returnId: ID!, $expectedVersion: Int",
        "orderId: $orderId, returnId: $returnId, expectedVersion: $expectedVersion",
    ),
    "processRefund": (
        "$orderId: ID!, $amount: String!, $reason: String!, $returnId: ID, $expectedVersion: Int",
        "orderId: $orderId, amount: $amount, reason: $reason, returnId: $returnId, expectedVersion: $expectedVersion",
    ),
}

ORDER_QUERY = f"query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"


def mutation(name: str) -> str:
    variables, arguments = MUTATIONS[name]
    return f"mutation({variables}) {{ {name}({arguments}) {{ {PAYLOAD} }} }}"


def seed_catalog(tenant_id: str) -> None:
    writer = OrmSnapshotWriter()
    usd = lambda amount: {"amount": amount, "currency": "USD"}
    rows = [
        (
            "vendor",
            Vendor.create(
                {"vendor_id": "acme", "name": "Acme", "active": True, "country": "US", "currency": "USD", "version": 1}
            ),
        ),
        (
            "vendor",
            Vendor.create(
                {
                    "vendor_id": "globex",
                    "name": "Globex",
                    "active": True,
                    "country": "US",
                    "currency": "USD",
                    "version": 1,
                }
            ),
        ),
        (
            "product",
            Product.create(
                {
                    "product_id": "mug",
                    "vendor_id": "acme",
                    "sku": "ACME-MUG",
                    "name": "Blue mug",
                    "price": usd("12.50"),
                    "active": True,
                    "available_quantity": 100_000,
                    "max_quantity": 20,
                    "version": 1,
                }
            ),
        ),
        (
            "product",
            Product.create(
                {
                    "product_id": "kettle",
                    "vendor_id": "acme",
                    "sku": "ACME-KETTLE",
                    "name": "Steel kettle",
                    "price": usd("39.00"),
                    "active": True,
                    "version": 1,
                }
            ),
        ),
        (
            "product",
            Product.create(
                {
                    "product_id": "lamp",
                    "vendor_id": "globex",
                    "sku": "GLX-LAMP",
                    "name": "Desk lamp",
                    "price": usd("54.90"),
                    "active": True,
                    "version": 1,
                }
            ),
        ),
        (
            "shipping_option",
            ShippingOption.create(
                {
                    "option_id": "acme-std",
                    "vendor_id": "acme",
                    "name": "Acme standard",
                    "carrier": "UPS",
                    "base_cost": usd("5.00"),
                    "per_item_cost": usd("1.00"),
                    "free_over": usd("75.00"),
                    "countries": ["US", "CA", "GB"],
                    "active": True,
                    "version": 1,
                }
            ),
        ),
        (
            "shipping_option",
            ShippingOption.create(
                {
                    "option_id": "acme-us-only",
                    "vendor_id": "acme",
                    "name": "Acme local",
                    "carrier": "USPS",
                    "base_cost": usd("3.00"),
                    "countries": ["US"],
                    "active": True,
                    "version": 1,
                }
            ),
        ),
        (
            "shipping_option",
            ShippingOption.create(
                {
                    "option_id": "globex-std",
                    "vendor_id": "globex",
                    "name": "Globex standard",
                    "carrier": "FedEx",
                    "base_cost": usd("7.50"),
                    "countries": ["US", "GB"],
                    "active": True,
                    "version": 1,
                }
            ),
        ),
        (
            "coupon",
            Coupon.create(
                {
                    "code": "WELCOME5",
                    "kind": "fixed",
                    "value": "5",
                    "currency": "USD",
                    "min_subtotal": usd("30.00"),
                    "active": True,
                    "version": 1,
                }
            ),
        ),
        (
            "coupon",
            Coupon.create(
                {"code": "ACME10", "vendor_id": "acme", "kind": "percent", "value": "10", "active": True, "version": 1}
            ),
        ),
        (
            "coupon",
            Coupon.create(
                {"code": "ONCE", "kind": "percent", "value": "5", "usage_limit": 1, "active": True, "version": 1}
            ),
        ),
        (
            "offer",
            Offer.create(
                {
                    "offer_id": "mugs-2",
                    "vendor_id": "acme",
                    "kind": "percent_off",
                    "value": "10",
                    "product_ids": ["mug"],
                    "min_quantity": 2,
                    "active": True,
                    "version": 1,
                }
            ),
        ),
        (
            "customer",
            CustomerDetails.create(
                user_id="cust-1", email="ada@example.com", first_name="Ada", last_name="Lovelace", version=1
            ),
        ),
    ]
    for kind, snapshot in rows:
        writer.upsert(tenant_id, kind, snapshot)


@pytest.fixture
def catalog(tenant):
    seed_catalog(tenant.id)
    return tenant


class Shop:
    """Calls the API as a given role and returns the mutation's payload or the query's data."""

    def __init__(self, gql, tenant) -> None:
        self.gql = gql
        self.tenant = tenant
        self.customer = hs_token(tenant, sub="cust-1", roles=["customer"])
        self.other_customer = hs_token(tenant, sub="cust-2", roles=["customer"])
        self.staff = hs_token(tenant, sub="staff-1", roles=["staff"])
        self.acme = hs_token(tenant, sub="acme-user", roles=["vendor"], vendor_id="acme")
        self.globex = hs_token(tenant, sub="globex-user", roles=["vendor"], vendor_id="globex")

    def call(self, name: str, token: str, **variables: Any) -> dict[str, Any]:
        data = self.gql.execute(mutation(name), variables, token=token)
        return data[name]

    def raw(self, name: str, token: str, **variables: Any):
        return self.gql.post(mutation(name), variables, token=token).json()

    def ok(self, name: str, token: str, **variables: Any) -> dict[str, Any]:
        payload = self.call(name, token, **variables)
        assert payload["errors"] == [], payload["errors"]
        return payload["order"]

    def order(self, order_id: str, token: str) -> dict[str, Any] | None:
        return self.gql.execute(ORDER_QUERY, {"id": order_id}, token=token)["order"]

    def checkout(self, cart=(("mug", 1), ("lamp", 1)), /, token: str | None = None, **extra: Any):
        """checkoutItems for `cart` ((productId, quantity) pairs); `extra` overrides any variable."""
        variables = {
            "items": [{"productId": p, "quantity": q} for p, q in cart],
            "shippingAddress": US_ADDRESS,
            "customer": CUSTOMER,
            "shippingOptions": [
                {"vendorId": "acme", "shippingOptionId": "acme-std"},
                {"vendorId": "globex", "shippingOptionId": "globex-std"},
            ],
        }
        variables.update(extra)
        return self.call("checkoutItems", token or self.customer, **variables)

    def draft(self, items=(("mug", 1), ("lamp", 1)), **extra: Any) -> dict[str, Any]:
        payload = self.checkout(items, **extra)
        assert payload["errors"] == [], payload["errors"]
        return payload["order"]

    def placed(self, items=(("mug", 1), ("lamp", 1)), **extra: Any) -> dict[str, Any]:
        order = self.draft(items, **extra)
        return self.ok("placeOrder", self.customer, orderId=order["id"])

    def confirmed(self, items=(("mug", 1), ("lamp", 1)), **extra: Any) -> dict[str, Any]:
        order = self.placed(items, **extra)
        payment = {"method": "card", "reference": "ch_1", "amount": order["total"]["amount"]}
        return self.ok("confirmOrder", self.staff, orderId=order["id"], payment=payment)


@pytest.fixture
def shop(gql, catalog) -> Shop:
    return Shop(gql, catalog)
