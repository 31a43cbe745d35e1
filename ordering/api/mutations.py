"""The order mutations of api.md. Each parses its arguments into a command, calls its handler and
maps the result, or the error, onto `{ order, errors }`. No rule lives here."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLError

from oms_project.kernel.graphql_common import AddressInput, UserError, user_error
from oms_project.kernel.observability import assign_request_id
from ordering.application import commands as c
from ordering.application import fulfilment_handlers as fh
from ordering.application import handlers
from ordering.application import intake_handlers as ih
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
    return GraphQLError(error.message, extensions={"code": "FORBIDDEN"})


def _address(value: Any) -> dict[str, Any] | None:
    return None if value is None else dict(value)


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

    @classmethod
    def command(cls, **arguments: Any) -> Any:
        raise NotImplementedError

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

    handler = staticmethod(handlers.checkout_items)

    @classmethod
    def command(
        cls,
        items,
        shipping_address,
        customer=None,
        coupon_codes=None,
        shipping_options=None,
        idempotency_key=None,
        payment_option_id=None,
    ):
        return c.CheckoutItems(
            items=_items(items),
            shipping_address=_address(shipping_address),
            customer=None if customer is None else dict(customer),
            coupon_codes=list(coupon_codes or []),
            shipping_options=[c.ShippingChoice(s.vendor_id, s.shipping_option_id) for s in shipping_options or []],
            idempotency_key=idempotency_key,
            payment_option_id=payment_option_id,
        )


class UpdateCheckoutItems(OrderMutation):
    """Replace the lines of a DRAFT order and re-price it (owner)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        items = graphene.List(graphene.NonNull(CheckoutItemInput), required=True)
        expected_version = graphene.Int()

    handler = staticmethod(handlers.update_checkout_items)

    @classmethod
    def command(cls, order_id, items, expected_version=None):
        return c.UpdateCheckoutItems(order_id, _items(items), expected_version)


class ChangeDestination(OrderMutation):
    """Change a DRAFT order's shipping address and re-price its shipping (owner). A vendor's
    chosen option that does not ship to the new country is cleared and must be chosen again.
    On a PENDING or CONFIRMED order with nothing in a shipment it is an amendment (owner or
    staff): the new address must be in the same country, and prices stay as placed."""

    class Arguments:
        order_id = graphene.ID(required=True)
        shipping_address = AddressInput(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(fh.change_destination_or_amend)

    @classmethod
    def command(cls, order_id, shipping_address, expected_version=None):
        return c.ChangeDestination(order_id, _address(shipping_address), expected_version)


class SelectShippingOption(OrderMutation):
    """Choose a vendor's shipping option on a DRAFT order (owner)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        vendor_id = graphene.ID(required=True)
        shipping_option_id = graphene.ID(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(handlers.select_shipping_option)

    @classmethod
    def command(cls, order_id, vendor_id, shipping_option_id, expected_version=None):
        return c.SelectShippingOption(order_id, vendor_id, shipping_option_id, expected_version)


class ApplyCoupon(OrderMutation):
    """Apply a coupon code to a DRAFT order (owner)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        code = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(handlers.apply_coupon)

    @classmethod
    def command(cls, order_id, code, expected_version=None):
        return c.ApplyCoupon(order_id, code, expected_version)


class RemoveCoupon(OrderMutation):
    """Remove a coupon code from a DRAFT order (owner)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        code = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(handlers.remove_coupon)

    @classmethod
    def command(cls, order_id, code, expected_version=None):
        return c.RemoveCoupon(order_id, code, expected_version)


class PlaceOrder(OrderMutation):
    """DRAFT -> PENDING after re-checking the draft; counts coupon uses; gives the number (owner)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        expected_version = graphene.Int()
        idempotency_key = graphene.String()
        payment_option_id = graphene.ID(description="Choose (or change) the payment option before placing.")

    handler = staticmethod(handlers.place_order)

    @classmethod
    def command(cls, order_id, expected_version=None, idempotency_key=None, payment_option_id=None):
        return c.PlaceOrder(order_id, expected_version, idempotency_key, payment_option_id)


class ConfirmOrder(OrderMutation):
    """Record the payment (its amount must equal the total): PENDING -> CONFIRMED (staff)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        payment = PaymentInput(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(handlers.confirm_order)

    @classmethod
    def command(cls, order_id, payment, expected_version=None):
        return c.ConfirmOrder(order_id, payment.method, payment.reference, payment.amount, expected_version)


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

    handler = staticmethod(handlers.ship_order)

    @classmethod
    def command(cls, order_id, carrier, tracking_number, lines=None, expected_version=None):
        shipped = None if lines is None else [ShipmentLine(line.line_id, line.quantity) for line in lines]
        return c.ShipOrder(order_id, carrier, tracking_number, shipped, expected_version)


class DeliverOrder(OrderMutation):
    """SHIPPED -> DELIVERED (staff, or the vendor of every line)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(handlers.deliver_order)

    @classmethod
    def command(cls, order_id, expected_version=None):
        return c.DeliverOrder(order_id, expected_version)


class CompleteOrder(OrderMutation):
    """DELIVERED -> COMPLETED (staff)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(handlers.complete_order)

    @classmethod
    def command(cls, order_id, expected_version=None):
        return c.CompleteOrder(order_id, expected_version)


class CancelOrder(OrderMutation):
    """Cancel with a reason: owner (DRAFT, PENDING), staff (DRAFT, PENDING, CONFIRMED), vendor
    (CONFIRMED, when every line is its own). A paid order's payment is marked for refund."""

    class Arguments:
        order_id = graphene.ID(required=True)
        reason = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(handlers.cancel_order)

    @classmethod
    def command(cls, order_id, reason, expected_version=None):
        return c.CancelOrder(order_id, reason, expected_version)


class MarkUnfulfillable(OrderMutation):
    """CONFIRMED or PARTIALLY_SHIPPED -> UNFULFILLABLE with a reason (staff, or the vendor of every
    line). From there it is cancelled (cancelOrder) or resumed (resumeOrder)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        reason = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(handlers.mark_unfulfillable)

    @classmethod
    def command(cls, order_id, reason, expected_version=None):
        return c.MarkUnfulfillable(order_id, reason, expected_version)


class ResumeOrder(OrderMutation):
    """UNFULFILLABLE -> CONFIRMED, or PARTIALLY_SHIPPED when part of it had shipped (staff, or the
    vendor of every line)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(handlers.resume_order)

    @classmethod
    def command(cls, order_id, expected_version=None):
        return c.ResumeOrder(order_id, expected_version)


def _lines(values) -> list[ShipmentLine] | None:
    return None if values is None else [ShipmentLine(line.line_id, line.quantity) for line in values]


def _value(enum_value: Any) -> Any:
    return getattr(enum_value, "value", enum_value)


class AddShipment(OrderMutation):
    """Pack lines of one vendor into a PENDING shipment (vendor: its own lines; staff: any).
    CONFIRMED or PARTIALLY_SHIPPED orders that are not on hold."""

    class Arguments:
        order_id = graphene.ID(required=True)
        lines = graphene.List(
            graphene.NonNull(ShipmentLineInput), description="Default: all of the caller's lines not yet in a shipment."
        )
        expected_version = graphene.Int()

    handler = staticmethod(fh.add_shipment)

    @classmethod
    def command(cls, order_id, lines=None, expected_version=None):
        return c.AddShipment(order_id, _lines(lines), expected_version)


class AddShippingTrackingReference(OrderMutation):
    """Hand a PENDING shipment to its carrier with the tracking reference: it becomes SHIPPED and
    the order PARTIALLY_SHIPPED or SHIPPED (vendor of the shipment, staff)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        shipment_id = graphene.ID(required=True)
        carrier = graphene.String(required=True)
        tracking_number = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(fh.add_shipping_tracking_reference)

    @classmethod
    def command(cls, order_id, shipment_id, carrier, tracking_number, expected_version=None):
        return c.AddShippingTrackingReference(order_id, shipment_id, carrier, tracking_number, expected_version)


class CancelShipment(OrderMutation):
    """Cancel a PENDING shipment; its quantities can go in another one (vendor of it, staff)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        shipment_id = graphene.ID(required=True)
        reason = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(fh.cancel_shipment)

    @classmethod
    def command(cls, order_id, shipment_id, reason, expected_version=None):
        return c.CancelShipment(order_id, shipment_id, reason, expected_version)


class PlaceOnHold(OrderMutation):
    """Hold a PENDING, CONFIRMED or PARTIALLY_SHIPPED order (staff): it cannot be confirmed,
    shipped or completed until the hold is released."""

    class Arguments:
        order_id = graphene.ID(required=True)
        reason = HoldReason(required=True)
        note = graphene.String()
        expected_version = graphene.Int()

    handler = staticmethod(fh.place_on_hold)

    @classmethod
    def command(cls, order_id, reason, note=None, expected_version=None):
        return c.PlaceOnHold(order_id, _value(reason), note, expected_version)


class ReleaseHold(OrderMutation):
    """Release an order's hold (staff)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        note = graphene.String()
        expected_version = graphene.Int()

    handler = staticmethod(fh.release_hold)

    @classmethod
    def command(cls, order_id, note=None, expected_version=None):
        return c.ReleaseHold(order_id, note, expected_version)


class ReviewOrder(OrderMutation):
    """Decide the review a tenant's workflow asked for (staff; after an escalation, the assignee).
    APPROVE lets the order be confirmed; REJECT cancels it."""

    class Arguments:
        order_id = graphene.ID(required=True)
        decision = ReviewDecision(required=True)
        note = graphene.String()
        expected_version = graphene.Int()

    handler = staticmethod(fh.review_order)

    @classmethod
    def command(cls, order_id, decision, note=None, expected_version=None):
        return c.ReviewOrder(order_id, _value(decision), note, expected_version)


class EscalateReviewer(OrderMutation):
    """Hand a waiting review to another reviewer (a user id), one level up (staff)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        reviewer_id = graphene.ID(required=True)
        note = graphene.String()
        expected_version = graphene.Int()

    handler = staticmethod(fh.escalate_reviewer)

    @classmethod
    def command(cls, order_id, reviewer_id, note=None, expected_version=None):
        return c.EscalateReviewer(order_id, reviewer_id, note, expected_version)


class ChangeOrderQuantity(OrderMutation):
    """Lower a line's quantity on a PENDING or CONFIRMED order with nothing in a shipment (owner,
    staff). Re-priced from the prices frozen at checkout; a new revision and `order.amended`."""

    class Arguments:
        order_id = graphene.ID(required=True)
        line_id = graphene.ID(required=True)
        quantity = graphene.Int(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(fh.change_order_quantity)

    @classmethod
    def command(cls, order_id, line_id, quantity, expected_version=None):
        return c.ChangeOrderQuantity(order_id, line_id, quantity, expected_version)


class RemoveLineItems(OrderMutation):
    """Remove lines from a PENDING or CONFIRMED order with nothing in a shipment (owner, staff);
    at least one line stays. Re-priced from the frozen prices."""

    class Arguments:
        order_id = graphene.ID(required=True)
        line_ids = graphene.List(graphene.NonNull(graphene.ID), required=True)
        expected_version = graphene.Int()

    handler = staticmethod(fh.remove_line_items)

    @classmethod
    def command(cls, order_id, line_ids, expected_version=None):
        return c.RemoveLineItems(order_id, list(line_ids), expected_version)


class RequestReturn(OrderMutation):
    """Ask to return delivered quantities of one vendor's lines, within the tenant's return window
    (the customer who placed the order)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        lines = graphene.List(graphene.NonNull(ReturnLineInput), required=True)
        reason = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(fh.request_return)

    @classmethod
    def command(cls, order_id, lines, reason, expected_version=None):
        return c.RequestReturn(order_id, _lines(lines), reason, expected_version)


class ApproveReturn(OrderMutation):
    """Approve a REQUESTED return (staff, or the vendor whose lines it returns)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        return_id = graphene.ID(required=True)
        note = graphene.String()
        expected_version = graphene.Int()

    handler = staticmethod(fh.decide_return)

    @classmethod
    def command(cls, order_id, return_id, note=None, expected_version=None):
        return c.DecideReturn(order_id, return_id, True, note, expected_version)


class RejectReturn(OrderMutation):
    """Reject a REQUESTED return with a reason (staff, or the vendor whose lines it returns)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        return_id = graphene.ID(required=True)
        reason = graphene.String(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(fh.decide_return)

    @classmethod
    def command(cls, order_id, return_id, reason, expected_version=None):
        return c.DecideReturn(order_id, return_id, False, reason, expected_version)


class ReceiveReturn(OrderMutation):
    """Record that an APPROVED return came back (staff, or the vendor whose lines it returns)."""

    class Arguments:
        order_id = graphene.ID(required=True)
        return_id = graphene.ID(required=True)
        expected_version = graphene.Int()

    handler = staticmethod(fh.receive_return)

    @classmethod
    def command(cls, order_id, return_id, expected_version=None):
        return c.ReceiveReturn(order_id, return_id, expected_version)


class ProcessRefund(OrderMutation):
    """Refund part or all of what was paid and not yet refunded (staff). The payment becomes
    PARTIALLY_REFUNDED or REFUNDED; more than is refundable is REFUND_EXCEEDS_PAID."""

    class Arguments:
        order_id = graphene.ID(required=True)
        amount = graphene.String(required=True, description="A decimal string in the order's currency.")
        reason = graphene.String(required=True)
        return_id = graphene.ID(description="The approved or received return this refund is for, if any.")
        expected_version = graphene.Int()

    handler = staticmethod(fh.process_refund)

    @classmethod
    def command(cls, order_id, amount, reason, return_id=None, expected_version=None):
        return c.ProcessRefund(order_id, amount, reason, return_id, expected_version)


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

    @classmethod
    def command(
        cls,
        external_reference,
        currency,
        customer,
        shipping_address,
        lines,
        shipping=None,
        total=None,
        paid_amount=None,
        payment_reference=None,
    ):
        return c.ImportOrder(
            external_reference=external_reference,
            currency=currency,
            customer=dict(customer),
            shipping_address=dict(shipping_address),
            lines=[dict(line) for line in lines],
            shipping=[dict(charge) for charge in shipping or []],
            total=total,
            paid_amount=paid_amount,
            payment_reference=payment_reference,
        )


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
