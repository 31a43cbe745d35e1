"""GraphQL types of orders (api.md, "Queries"). They read domain objects; no rule lives here."""

from __future__ import annotations

import graphene

from oms_project.kernel.graphql_common import AddressInput
from ordering.application.queries import OrderSort as OrderSortValue
from ordering.domain import fulfilment
from ordering.domain.lifecycle import OrderStatus as OrderStatusValue
from ordering.domain.order import PaymentStatus as PaymentStatusValue
from ordering.domain.values import Money as MoneyValue
from ordering.domain.values import display_amount

OrderStatus = graphene.Enum.from_enum(OrderStatusValue, description="Where an order is in its lifecycle.")
PaymentStatus = graphene.Enum.from_enum(PaymentStatusValue, description="Whether the order is paid or refunded.")
OrderSort = graphene.Enum.from_enum(OrderSortValue, description="How `orders` is sorted (newest first by default).")
ShipmentStatus = graphene.Enum.from_enum(
    fulfilment.ShipmentStatus,
    description=(
        "PENDING: packed, not with a carrier; SHIPPED: handed over with a tracking reference; then the "
        "carrier's IN_TRANSIT, DELIVERED or FAILED. CANCELLED: cancelled before it shipped."
    ),
)
HoldReason = graphene.Enum.from_enum(fulfilment.HoldReason, description="Why staff hold an order.")
ReviewStatus = graphene.Enum.from_enum(fulfilment.ReviewStatus, description="Where an order's review stands.")
ReviewDecision = graphene.Enum.from_enum(fulfilment.ReviewDecision, description="APPROVE or REJECT (cancels).")
ReturnStatus = graphene.Enum.from_enum(fulfilment.ReturnStatus, description="Where a return request stands.")


class Money(graphene.ObjectType):
    amount = graphene.Decimal(required=True, description="A decimal string, never a float.")
    currency = graphene.String(required=True, description="ISO 4217.")

    def resolve_amount(parent, info):
        return display_amount(parent.amount, parent.currency)


class Address(graphene.ObjectType):
    line1 = graphene.String(required=True)
    line2 = graphene.String()
    city = graphene.String(required=True)
    state = graphene.String()
    postal_code = graphene.String(required=True)
    country = graphene.String(required=True, description="ISO 3166-1 alpha-2.")

    def resolve_line2(parent, info):
        return parent.line2 or None

    def resolve_state(parent, info):
        return parent.state or None


class OrderCustomer(graphene.ObjectType):
    user_id = graphene.ID(required=True)
    email = graphene.String(required=True)
    first_name = graphene.String(required=True)
    last_name = graphene.String(required=True)
    phone = graphene.String()

    def resolve_phone(parent, info):
        return parent.phone or None


class OrderLine(graphene.ObjectType):
    id = graphene.ID(required=True)
    product_id = graphene.ID(required=True)
    sku = graphene.String(required=True)
    product_name = graphene.String(required=True)
    vendor_id = graphene.ID(required=True)
    quantity = graphene.Int(required=True)
    unit_price = graphene.Field(Money, required=True)
    subtotal = graphene.Field(Money, required=True, description="Unit price x quantity.")
    discount = graphene.Field(Money, required=True, description="The line's best offer.")
    offer_id = graphene.ID(description="The offer that gave the discount, if any.")
    total = graphene.Field(Money, required=True)
    shipped_quantity = graphene.Int(required=True)
    tax_rate = graphene.Decimal(required=True, description="Percent, frozen at checkout; 0 when untaxed.")
    tax_inclusive = graphene.Boolean(required=True, description="The tax is part of the price (not added).")
    tax = graphene.Field(Money, required=True)
    weight = graphene.Decimal(description="Kilograms, as a sales channel sent it (imported orders).")

    def resolve_id(parent, info):
        return parent.line_id


class VendorShippingOption(graphene.ObjectType):
    vendor_id = graphene.ID(required=True)
    shipping_option_id = graphene.ID(description="Null until one is chosen; placing the order needs it.")
    name = graphene.String()
    carrier = graphene.String()
    cost = graphene.Field(Money, required=True)
    waived_by = graphene.String(description='"free_over" or the id of the free-shipping offer.')
    delivery_days = graphene.Int()

    def resolve_shipping_option_id(parent, info):
        return parent.option_id

    def resolve_name(parent, info):
        return parent.name or None

    def resolve_carrier(parent, info):
        return parent.carrier or None


class AppliedCoupon(graphene.ObjectType):
    code = graphene.String(required=True)
    vendor_id = graphene.ID(description="Null for a tenant-wide coupon.")
    discount = graphene.Field(Money, required=True)

    def resolve_vendor_id(parent, info):
        return parent.vendor_id or None


class ChosenPaymentOption(graphene.ObjectType):
    id = graphene.ID(required=True)
    method = graphene.String(required=True, description="confirmOrder must pay with this method.")

    def resolve_id(parent, info):
        return parent.option_id


class Payment(graphene.ObjectType):
    method = graphene.String(required=True)
    reference = graphene.String(required=True)
    amount = graphene.Field(Money, required=True)
    paid_at = graphene.DateTime(required=True)


class ShipmentLine(graphene.ObjectType):
    line_id = graphene.ID(required=True)
    quantity = graphene.Int(required=True)


class Shipment(graphene.ObjectType):
    id = graphene.ID(required=True)
    vendor_id = graphene.ID(required=True)
    status = graphene.Field(ShipmentStatus, required=True)
    carrier = graphene.String(required=True, description="Empty while PENDING.")
    tracking_number = graphene.String(required=True, description="Empty while PENDING.")
    lines = graphene.List(graphene.NonNull(ShipmentLine), required=True)
    shipped_at = graphene.DateTime(description="When it was handed to the carrier; null while PENDING.")
    created_at = graphene.DateTime()
    updated_at = graphene.DateTime(description="The last change, or the time of the carrier's last update.")

    def resolve_id(parent, info):
        return parent.shipment_id


class Hold(graphene.ObjectType):
    reason = graphene.Field(HoldReason, required=True)
    note = graphene.String()
    by = graphene.String(required=True)
    at = graphene.DateTime(required=True)

    def resolve_note(parent, info):
        return parent.note or None


class Review(graphene.ObjectType):
    status = graphene.Field(ReviewStatus, required=True)
    level = graphene.Int(required=True, description="1, plus one per escalation.")
    assignee = graphene.String(description="The reviewer it was escalated to: only they may decide it.")
    requested_at = graphene.DateTime(required=True)
    decided_by = graphene.String()
    decided_at = graphene.DateTime()
    note = graphene.String()

    def resolve_note(parent, info):
        return parent.note or None


class ReturnRequest(graphene.ObjectType):
    id = graphene.ID(required=True)
    vendor_id = graphene.ID(required=True)
    status = graphene.Field(ReturnStatus, required=True)
    lines = graphene.List(graphene.NonNull(ShipmentLine), required=True)
    reason = graphene.String(required=True)
    requested_by = graphene.String(required=True)
    requested_at = graphene.DateTime(required=True)
    decided_by = graphene.String()
    decided_at = graphene.DateTime()
    note = graphene.String(description="The approval note or the rejection reason.")
    received_at = graphene.DateTime()

    def resolve_id(parent, info):
        return parent.return_id

    def resolve_note(parent, info):
        return parent.note or None


class Refund(graphene.ObjectType):
    id = graphene.ID(required=True)
    amount = graphene.Field(Money, required=True)
    reason = graphene.String(required=True)
    return_id = graphene.ID()
    by = graphene.String(required=True)
    at = graphene.DateTime(required=True)

    def resolve_id(parent, info):
        return parent.refund_id


class Cancellation(graphene.ObjectType):
    reason = graphene.String(required=True)
    by = graphene.String(required=True, description="The user id of who cancelled.")
    at = graphene.DateTime(required=True)


class OrderHistoryEntry(graphene.ObjectType):
    at = graphene.DateTime(required=True)
    actor = graphene.String(required=True, description="The user id of who made the change.")
    from_status = graphene.Field(OrderStatus, description="Null for the entry that created the order.")
    to_status = graphene.Field(OrderStatus, required=True)
    note = graphene.String()


class Order(graphene.ObjectType):
    """An order. A vendor who is not also staff or the customer sees only its own lines,
    shipping, coupons and shipments, totals over those, and no payment."""

    id = graphene.ID(required=True)
    number = graphene.String(description="Human readable, unique per tenant; given when the order is placed.")
    status = graphene.Field(OrderStatus, required=True)
    payment_status = graphene.Field(PaymentStatus, required=True)
    currency = graphene.String(required=True)
    customer = graphene.Field(OrderCustomer, required=True)
    shipping_address = graphene.Field(Address, required=True)
    lines = graphene.List(graphene.NonNull(OrderLine), required=True)
    shipping_options = graphene.List(
        graphene.NonNull(VendorShippingOption), required=True, description="One per vendor of the order."
    )
    coupons = graphene.List(graphene.NonNull(AppliedCoupon), required=True)
    subtotal = graphene.Field(Money, required=True)
    discount_total = graphene.Field(Money, required=True)
    shipping_total = graphene.Field(Money, required=True)
    tax_total = graphene.Field(Money, required=True, description="All tax, included in prices or added.")
    total = graphene.Field(Money, required=True)
    payment_option = graphene.Field(ChosenPaymentOption, description="Chosen at checkout or placement, if any.")
    payment = graphene.Field(Payment)
    shipments = graphene.List(graphene.NonNull(Shipment), required=True)
    cancellation = graphene.Field(Cancellation)
    unfulfillable_reason = graphene.String(description="Why the order is UNFULFILLABLE; null otherwise.")
    channel = graphene.ID(description="The sales channel it was imported from (importOrder); null: our checkout.")
    external_reference = graphene.String(description="The sales channel's own reference; null: our checkout.")
    history = graphene.List(graphene.NonNull(OrderHistoryEntry), required=True)
    hold = graphene.Field(Hold, description="Set while the order is on hold: it cannot be confirmed or shipped.")
    review = graphene.Field(Review, description="The review the tenant's workflow asked for, if any.")
    revision = graphene.Int(required=True, description="How many amendments the order had after placing.")
    payment_adjustment = graphene.Field(
        Money,
        description=(
            "What amendments changed a paid total by, less what was refunded since: negative is owed to the "
            "customer, positive by them. Null when nothing changed."
        ),
    )
    delivered_at = graphene.DateTime()
    returns = graphene.List(graphene.NonNull(ReturnRequest), required=True)
    refunds = graphene.List(graphene.NonNull(Refund), required=True)
    refunded_total = graphene.Field(Money, required=True)
    version = graphene.Int(required=True, description="Send it back as `expectedVersion` to detect concurrent changes.")
    created_at = graphene.DateTime(required=True)
    updated_at = graphene.DateTime(required=True)
    placed_at = graphene.DateTime()

    def resolve_unfulfillable_reason(parent, info):
        return parent.unfulfillable_reason or None

    def resolve_channel(parent, info):
        return parent.channel or None

    def resolve_external_reference(parent, info):
        return parent.external_reference or None

    def resolve_id(parent, info):
        return parent.order_id

    def resolve_shipping_options(parent, info):
        return parent.shipping

    def resolve_tax_total(parent, info):
        return parent.tax_total or MoneyValue.zero(parent.currency)


class OrderEdge(graphene.ObjectType):
    cursor = graphene.String(required=True)
    node = graphene.Field(Order, required=True)


class OrderConnection(graphene.ObjectType):
    edges = graphene.List(graphene.NonNull(OrderEdge), required=True)
    page_info = graphene.Field(graphene.relay.PageInfo, required=True)
    total_count = graphene.Int(required=True, description="Orders matching the filter and search, all pages.")


class OrderFilter(graphene.InputObjectType):
    status = graphene.List(graphene.NonNull(OrderStatus))
    payment_status = graphene.List(graphene.NonNull(PaymentStatus))
    vendor_id = graphene.ID(description="Orders with lines of this vendor.")
    customer_id = graphene.ID(description="Staff only.")
    created_after = graphene.DateTime(description="Inclusive.")
    created_before = graphene.DateTime(description="Exclusive.")
    channel = graphene.ID(description="Orders imported from this sales channel.")


class CustomerInput(graphene.InputObjectType):
    email = graphene.String(required=True)
    first_name = graphene.String(required=True)
    last_name = graphene.String(required=True)
    phone = graphene.String()


class CheckoutItemInput(graphene.InputObjectType):
    product_id = graphene.ID(required=True)
    quantity = graphene.Int(required=True)


class ShippingOptionSelectionInput(graphene.InputObjectType):
    vendor_id = graphene.ID(required=True)
    shipping_option_id = graphene.ID(required=True)


class PaymentInput(graphene.InputObjectType):
    method = graphene.String(required=True, description="e.g. card, bank_transfer.")
    reference = graphene.String(required=True)
    amount = graphene.String(required=True, description="A decimal string in the order's currency: the total.")


class ShipmentLineInput(graphene.InputObjectType):
    line_id = graphene.ID(required=True)
    quantity = graphene.Int(required=True)


class ImportLineInput(graphene.InputObjectType):
    sku = graphene.String(required=True)
    product_name = graphene.String(required=True)
    vendor_id = graphene.ID(required=True)
    quantity = graphene.Int(required=True)
    unit_price = graphene.String(required=True, description="A decimal string: the channel's price of one.")
    discount = graphene.String(description="A decimal string: the line's discount, at most its subtotal.")
    tax_amount = graphene.String(description="A decimal string: the tax the channel charged on the line.")
    weight = graphene.String(description="A decimal string: kilograms.")


class ImportShippingInput(graphene.InputObjectType):
    vendor_id = graphene.ID(required=True)
    carrier = graphene.String(required=True)
    service = graphene.String(required=True)
    price = graphene.String(required=True, description="A decimal string.")


class ReturnLineInput(graphene.InputObjectType):
    line_id = graphene.ID(required=True)
    quantity = graphene.Int(required=True)


__all__ = ["AddressInput"]
