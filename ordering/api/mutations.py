"""The order mutations of api.md. Each parses its arguments into a command, calls its handler and
maps the result, or the error, onto `{ order, errors }`. No rule lives here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import graphene
from graphql import GraphQLError

from oms_project.kernel.graphql_common import AddressInput, UserError, top_level_error, user_error
from oms_project.kernel.observability import assign_request_id
from ordering.application import commands as c
from ordering.application.handlers import amendments, checkout, lifecycle, privacy, returns, review, shipments
from ordering.application.handlers import intake as ih
from ordering.domain.checkout import CartItem
from ordering.domain.errors import Forbidden, OrderingError
from ordering.domain.order import ShipmentLine
from ordering.domain.values import CurrencyMismatch
from ordering.infrastructure.unit_of_work import DjangoUnitOfWork
from snapshots.domain.errors import SnapshotInvalid

from .types import (
    CheckoutItemInput,
    CustomerInput,
    HoldReason,
    ImportLineInput,
    ImportShippingInput,
    Order,
    PaymentInput,
    ReturnLineInput,
    ReviewDecision,
    ShipmentLineInput,
    ShippingOptionSelectionInput,
)


def forbidden(error: Forbidden) -> GraphQLError:
    """A missing right: a top-level error (the caller's roles never allow it), not a payload one."""
    return top_level_error(error)


def _address(value: Any) -> dict[str, Any] | None:
    return None if value is None else dict(value)


@dataclass(frozen=True)
class Into:
    """What one argument becomes: the command fields `fields`, made by `make` from its value."""

    fields: tuple[str, ...]
    make: Callable[[Any], dict[str, Any]]

    def __call__(self, value: Any) -> dict[str, Any]:
        return self.make(value)


def into(field: str, convert: Callable[[Any], Any] = lambda value: value) -> Into:
    """An argument that becomes command field `field`, through `convert`."""
    return Into((field,), lambda value: {field: convert(value)})


def _payment(payment: Any) -> dict[str, Any]:
    return {"method": payment.method, "reference": payment.reference, "amount": payment.amount}


def _lines(values) -> list[ShipmentLine] | None:
    return None if values is None else [ShipmentLine(line.line_id, line.quantity) for line in values]


def _value(enum_value: Any) -> Any:
    return getattr(enum_value, "value", enum_value)


def _items(values) -> list[CartItem]:
    return [CartItem(item.product_id, item.quantity) for item in values or []]


class OrderPayload(graphene.ObjectType):
    order = graphene.Field(Order, description="The order after the change; null when errors is not empty.")
    errors = graphene.List(graphene.NonNull(UserError), required=True)


class OrderMutation(graphene.Mutation):
    """Runs `handler(principal, command, unit of work)`; refusals become payload errors (nothing was
    written), a missing right a top-level FORBIDDEN error."""

    class Meta:
        abstract = True

    Output = OrderPayload
    handler: Any = None
    command_type: Any = None  # the application command the arguments make
    fields: ClassVar[dict[str, Into]] = {}  # arguments that are not a command field as given
    fixed: ClassVar[dict[str, Any]] = {}  # command fields the mutation itself sets

    @classmethod
    def command(cls, **arguments: Any) -> Any:
        """The command, built from the arguments by name, never by position: each argument is
        the command field of the same (snake_case) name, unless `fields` says what it becomes."""
        values = dict(cls.fixed)
        for name, value in arguments.items():
            values.update(cls.fields[name](value) if name in cls.fields else {name: value})
        return cls.command_type(**values)

    @classmethod
    def mutate(cls, root, info, **arguments):
        principal = info.context.principal
        try:
            command = cls.command(**arguments)
            order = cls.handler(
                principal,
                command,
                DjangoUnitOfWork(principal.tenant_id, correlation_id=assign_request_id(info.context.request)),
            )
        except Forbidden as error:
            raise forbidden(error) from error
        except OrderingError as error:  # one error per changed price, per short line
            return OrderPayload(order=None, errors=[user_error(part) for part in error.parts()])
        except (SnapshotInvalid, CurrencyMismatch) as error:
            return OrderPayload(order=None, errors=[user_error(error)])
        return OrderPayload(order=order, errors=[])


class CustomerErasure(graphene.ObjectType):
    """One erasure of a customer's personal data (docs/privacy.md)."""

    customer_user_id = graphene.ID(required=True)
    order_ids = graphene.List(graphene.NonNull(graphene.ID), required=True, description="Its orders, all erased.")
    cancelled_order_ids = graphene.List(
        graphene.NonNull(graphene.ID), required=True, description="The open orders `force` cancelled first."
    )
    erased_at = graphene.DateTime(required=True)
    held_personal_data = graphene.Boolean(
        required=True, description="False: nothing was left to erase (an erasure done before); no event was sent."
    )


class CustomerErasurePayload(graphene.ObjectType):
    erasure = graphene.Field(CustomerErasure, description="Null when errors is not empty.")
    errors = graphene.List(graphene.NonNull(UserError), required=True)


class EraseCustomer(graphene.Mutation):
    """Erase a customer's personal data from their orders, snapshots, order search, event documents
    and delivery records (staff); the orders keep numbers, lines, amounts and history, and
    subscribers get `customer.erased`. Open orders refuse it (CUSTOMER_HAS_OPEN_ORDERS) unless
    `force` cancels them first (docs/privacy.md)."""

    class Arguments:
        customer_user_id = graphene.ID(required=True)
        reason = graphene.String(required=True, description="Why (kept in the erasure log; no personal data).")
        force = graphene.Boolean(default_value=False, description="Cancel the open orders that can be cancelled.")

    Output = CustomerErasurePayload

    @classmethod
    def mutate(cls, root, info, **arguments):
        principal = info.context.principal
        try:
            erasure = privacy.erase_customer(
                principal,
                c.EraseCustomer(**arguments),
                DjangoUnitOfWork(principal.tenant_id, correlation_id=assign_request_id(info.context.request)),
            )
        except Forbidden as error:
            raise forbidden(error) from error
        except OrderingError as error:
            return CustomerErasurePayload(erasure=None, errors=[user_error(part) for part in error.parts()])
        return CustomerErasurePayload(erasure=erasure, errors=[])


class CheckoutItems(OrderMutation):
    """Create a DRAFT order from a cart, priced from the tenant's snapshots (customer)."""

    class Arguments:
        items = graphene.List(graphene.NonNull(CheckoutItemInput), required=True)
        shipping_address = AddressInput(required=True)
        customer = CustomerInput(description="Defaults to the details synced with syncUser.")
        coupon_codes = graphene.List(graphene.NonNull(graphene.String))
        shipping_options = graphene.List(
            graphene.NonNull(ShippingOptionSelectionInput),
            description="One per vendor; placing the order needs all of them.",
        )
        idempotency_key = graphene.String(description="Same key and input: the first result, nothing new.")
        payment_option_id = graphene.ID(
            description="Required when the tenant has payment options; every vendor of the cart must accept its method."
        )

    handler = staticmethod(checkout.checkout_items)

    command_type = c.CheckoutItems
    fields = {
        "items": into("items", _items),
        "shipping_address": into("shipping_address", _address),
        "customer": into("customer", lambda customer: None if customer is None else dict(customer)),
        "coupon_codes": into("coupon_codes", lambda codes: list(codes or [])),
        "shipping_options": into(
            "shipping_options",
            lambda choices: [c.ShippingChoice(s.vendor_id, s.shipping_option_id) for s in choices or []],
        ),
    }


class UpdateCheckoutItems(OrderMutation):
    """Replace the lines of a DRAFT order and re-price it (owner)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        items = graphene.List(graphene.NonNull(CheckoutItemInput), required=True)
        expected_version = graphene.Int()

    handler = staticmethod(checkout.update_checkout_items)

    command_type = c.UpdateCheckoutItems
    fields = {"items": into("items", _items)}


class ChangeDestination(OrderMutation):
    """Change a DRAFT order's shipping address and re-price its shipping (owner). A vendor's
    chosen option that does not ship to the new country is cleared and must be chosen again.
    On a PENDING or CONFIRMED order with nothing in a shipment it is an amendment (owner or
    staff): the new address must be in the same country, and prices stay as placed."""

    class Arguments:
        order_id = graphene.ID(required=True)
        shipping_address = AddressInput(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(amendments.change_destination_or_amend)

    command_type = c.ChangeDestination
    fields = {"shipping_address": into("shipping_address", _address)}


class SelectShippingOption(OrderMutation):
    """Choose a vendor's shipping option on a DRAFT order (owner)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        vendor_id = graphene.ID(required=True)
        shipping_option_id = graphene.ID(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(checkout.select_shipping_option)

    command_type = c.SelectShippingOption


class ApplyCoupon(OrderMutation):
    """Apply a coupon code to a DRAFT order (owner)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        code = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(checkout.apply_coupon)

    command_type = c.ApplyCoupon


class RemoveCoupon(OrderMutation):
    """Remove a coupon code from a DRAFT order (owner)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        code = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(checkout.remove_coupon)

    command_type = c.RemoveCoupon


class PlaceOrder(OrderMutation):
    """DRAFT -> PENDING after re-checking the draft; counts coupon uses; gives the number (owner)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        expected_version = graphene.Int()
        idempotency_key = graphene.String()
        payment_option_id = graphene.ID(description="Choose (or change) the payment option before placing.")

    handler = staticmethod(lifecycle.place_order)

    command_type = c.PlaceOrder


class ConfirmOrder(OrderMutation):
    """Record the payment (its amount must equal the total): PENDING -> CONFIRMED (staff)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        payment = PaymentInput(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(lifecycle.confirm_order)

    command_type = c.ConfirmOrder
    fields = {"payment": Into(("method", "reference", "amount"), _payment)}


class ShipOrder(OrderMutation):
    """Record a shipment of one vendor's lines (vendor: its own; staff: any)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        carrier = graphene.String(required=True)
        tracking_number = graphene.String(required=True)
        lines = graphene.List(
            graphene.NonNull(ShipmentLineInput), description="Default: all of the caller's unshipped lines."
        )
        expected_version = graphene.Int()

    handler = staticmethod(lifecycle.ship_order)

    command_type = c.ShipOrder
    fields = {"lines": into("lines", _lines)}


class DeliverOrder(OrderMutation):
    """SHIPPED -> DELIVERED (staff, or the vendor of every line)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(lifecycle.deliver_order)

    command_type = c.DeliverOrder


class CompleteOrder(OrderMutation):
    """DELIVERED -> COMPLETED (staff)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(lifecycle.complete_order)

    command_type = c.CompleteOrder


class CancelOrder(OrderMutation):
    """Cancel with a reason: owner (DRAFT, PENDING), staff (DRAFT, PENDING, CONFIRMED), vendor
    (CONFIRMED, when every line is its own). A paid order's payment is marked for refund."""

    class Arguments:
        order_id = graphene.ID(required=True)
        reason = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(lifecycle.cancel_order)

    command_type = c.CancelOrder


class MarkUnfulfillable(OrderMutation):
    """CONFIRMED or PARTIALLY_SHIPPED -> UNFULFILLABLE with a reason (staff, or the vendor of every
    line). From there it is cancelled (cancelOrder) or resumed (resumeOrder)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        reason = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(lifecycle.mark_unfulfillable)

    command_type = c.MarkUnfulfillable


class ResumeOrder(OrderMutation):
    """UNFULFILLABLE -> CONFIRMED, or PARTIALLY_SHIPPED when part of it had shipped (staff, or the
    vendor of every line)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(lifecycle.resume_order)

    command_type = c.ResumeOrder


class AddShipment(OrderMutation):
    """Pack lines of one vendor into a PENDING shipment (vendor: its own lines; staff: any).
    CONFIRMED or PARTIALLY_SHIPPED orders that are not on hold."""

    class Arguments:
        order_id = graphene.ID(required=True)
        lines = graphene.List(
            graphene.NonNull(ShipmentLineInput), description="Default: all of the caller's lines not yet in a shipment."
        )
        expected_version = graphene.Int()

    handler = staticmethod(shipments.add_shipment)

    command_type = c.AddShipment
    fields = {"lines": into("lines", _lines)}


class AddShippingTrackingReference(OrderMutation):
    """Hand a PENDING shipment to its carrier with the tracking reference: it becomes SHIPPED and
    the order PARTIALLY_SHIPPED or SHIPPED (vendor of the shipment, staff)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        shipment_id = graphene.ID(required=True)
        carrier = graphene.String(required=True)
        tracking_number = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(shipments.add_shipping_tracking_reference)

    command_type = c.AddShippingTrackingReference


class CancelShipment(OrderMutation):
    """Cancel a PENDING shipment; its quantities can go in another one (vendor of it, staff)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        shipment_id = graphene.ID(required=True)
        reason = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(shipments.cancel_shipment)

    command_type = c.CancelShipment


class PlaceOnHold(OrderMutation):
    """Hold a PENDING, CONFIRMED or PARTIALLY_SHIPPED order (staff): it cannot be confirmed,
    shipped or completed until the hold is released."""

    class Arguments:
        order_id = graphene.ID(required=True)
        reason = HoldReason(required=True)
        note = graphene.String()
        expected_version = graphene.Int()

    handler = staticmethod(review.place_on_hold)

    command_type = c.PlaceOnHold
    fields = {"reason": into("reason", _value)}


class ReleaseHold(OrderMutation):
    """Release an order's hold (staff)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        note = graphene.String()
        expected_version = graphene.Int()

    handler = staticmethod(review.release_hold)

    command_type = c.ReleaseHold


class ReviewOrder(OrderMutation):
    """Decide the review a tenant's workflow asked for (staff; after an escalation, the assignee).
    APPROVE lets the order be confirmed; REJECT cancels it."""

    class Arguments:
        order_id = graphene.ID(required=True)
        decision = ReviewDecision(required=True)
        note = graphene.String()
        expected_version = graphene.Int()

    handler = staticmethod(review.review_order)

    command_type = c.ReviewOrder
    fields = {"decision": into("decision", _value)}


class EscalateReviewer(OrderMutation):
    """Hand a waiting review to another reviewer (a user id), one level up (staff)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        reviewer_id = graphene.ID(required=True)
        note = graphene.String()
        expected_version = graphene.Int()

    handler = staticmethod(review.escalate_reviewer)

    command_type = c.EscalateReviewer


class ChangeOrderQuantity(OrderMutation):
    """Lower a line's quantity on a PENDING or CONFIRMED order with nothing in a shipment (owner,
    staff). Re-priced from the prices frozen at checkout; a new revision and `order.amended`."""

    class Arguments:
        order_id = graphene.ID(required=True)
        line_id = graphene.ID(required=True)
        quantity = graphene.Int(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(amendments.change_order_quantity)

    command_type = c.ChangeOrderQuantity


class RemoveLineItems(OrderMutation):
    """Remove lines from a PENDING or CONFIRMED order with nothing in a shipment (owner, staff);
    at least one line stays. Re-priced from the frozen prices."""

    class Arguments:
        order_id = graphene.ID(required=True)
        line_ids = graphene.List(graphene.NonNull(graphene.ID), required=True)
        expected_version = graphene.Int()

    handler = staticmethod(amendments.remove_line_items)

    command_type = c.RemoveLineItems
    fields = {"line_ids": into("line_ids", list)}


class RequestReturn(OrderMutation):
    """Ask to return delivered quantities of one vendor's lines, within the tenant's return window
    (the customer who placed the order)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        lines = graphene.List(graphene.NonNull(ReturnLineInput), required=True)
        reason = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(returns.request_return)

    command_type = c.RequestReturn
    fields = {"lines": into("lines", _lines)}


class ApproveReturn(OrderMutation):
    """Approve a REQUESTED return (staff, or the vendor whose lines it returns)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        return_id = graphene.ID(required=True)
        note = graphene.String()
        expected_version = graphene.Int()

    handler = staticmethod(returns.decide_return)

    command_type = c.DecideReturn
    fixed = {"approve": True}


class RejectReturn(OrderMutation):
    """Reject a REQUESTED return with a reason (staff, or the vendor whose lines it returns)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        return_id = graphene.ID(required=True)
        reason = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(returns.decide_return)

    command_type = c.DecideReturn
    fields = {"reason": into("note")}
    fixed = {"approve": False}


class ReceiveReturn(OrderMutation):
    """Record that an APPROVED return came back (staff, or the vendor whose lines it returns)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        return_id = graphene.ID(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(returns.receive_return)

    command_type = c.ReceiveReturn


class ProcessRefund(OrderMutation):
    """Refund part or all of what was paid and not yet refunded (staff). The payment becomes
    PARTIALLY_REFUNDED or REFUNDED; more than is refundable is REFUND_EXCEEDS_PAID."""

    class Arguments:
        order_id = graphene.ID(required=True)
        amount = graphene.String(required=True, description="A decimal string in the order's currency.")
        reason = graphene.String(required=True)
        return_id = graphene.ID(description="The approved or received return this refund is for, if any.")
        expected_version = graphene.Int()

    handler = staticmethod(returns.process_refund)

    command_type = c.ProcessRefund


class ImportOrder(OrderMutation):
    """Take in an order a sales channel sold, at the channel's prices (integration token with a
    `channel_id` claim; docs/integrations.md). It is PENDING, or CONFIRMED when `paidAmount` is the
    total. The same `externalReference` again returns the order it made; with a different order
    it is IDEMPOTENCY_KEY_REUSED."""

    class Arguments:
        external_reference = graphene.String(required=True, description="The channel's reference: unique per channel.")
        currency = graphene.String(required=True)
        customer = CustomerInput(required=True)
        shipping_address = AddressInput(required=True)
        lines = graphene.List(graphene.NonNull(ImportLineInput), required=True)
        shipping = graphene.List(graphene.NonNull(ImportShippingInput), description="At most one per vendor.")
        total = graphene.String(description="When given, it must be what the order adds up to (TOTAL_MISMATCH).")
        paid_amount = graphene.String(description="What the channel took: the whole total, then it is CONFIRMED.")
        payment_reference = graphene.String()

    handler = staticmethod(ih.import_order)

    command_type = c.ImportOrder
    fields = {
        "customer": into("customer", dict),
        "shipping_address": into("shipping_address", dict),
        "lines": into("lines", lambda lines: [dict(line) for line in lines]),
        "shipping": into("shipping", lambda charges: [dict(charge) for charge in charges or []]),
    }


class OrderingMutation(graphene.ObjectType):
    checkout_items = CheckoutItems.Field()
    update_checkout_items = UpdateCheckoutItems.Field()
    change_destination = ChangeDestination.Field()
    select_shipping_option = SelectShippingOption.Field()
    apply_coupon = ApplyCoupon.Field()
    remove_coupon = RemoveCoupon.Field()
    place_order = PlaceOrder.Field()
    confirm_order = ConfirmOrder.Field()
    ship_order = ShipOrder.Field()
    deliver_order = DeliverOrder.Field()
    complete_order = CompleteOrder.Field()
    cancel_order = CancelOrder.Field()
    erase_customer = EraseCustomer.Field()
    mark_unfulfillable = MarkUnfulfillable.Field()
    resume_order = ResumeOrder.Field()
    add_shipment = AddShipment.Field()
    add_shipping_tracking_reference = AddShippingTrackingReference.Field()
    cancel_shipment = CancelShipment.Field()
    place_on_hold = PlaceOnHold.Field()
    release_hold = ReleaseHold.Field()
    review_order = ReviewOrder.Field()
    escalate_reviewer = EscalateReviewer.Field()
    change_order_quantity = ChangeOrderQuantity.Field()
    remove_line_items = RemoveLineItems.Field()
    request_return = RequestReturn.Field()
    approve_return = ApproveReturn.Field()
    reject_return = RejectReturn.Field()
    receive_return = ReceiveReturn.Field()
    process_refund = ProcessRefund.Field()
    import_order = ImportOrder.Field()
