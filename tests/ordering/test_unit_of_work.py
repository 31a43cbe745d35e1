"""The handlers in DjangoUnitOfWork against the real database: the domain events the aggregate
raises are collected on commit, numbered per order, and a refused or rolled-back change yields none."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from identity.domain.principal import Principal, Role
from ordering.application import commands as c
from ordering.application.handlers import checkout as drafts
from ordering.application.handlers import lifecycle
from ordering.domain.checkout import CartItem
from ordering.domain.errors import InvalidTransition, ProductUnavailable
from ordering.infrastructure import models
from ordering.infrastructure.unit_of_work import DjangoUnitOfWork
from snapshots.infrastructure.models import ProductSnapshot

ADDRESS = {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"}
CUSTOMER = {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"}

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CUST = Principal("cust-1", "tenant-a", frozenset({Role.CUSTOMER}))
STAFF = Principal("staff-1", "tenant-a", frozenset({Role.STAFF}))
ACME = Principal("acme-user", "tenant-a", frozenset({Role.VENDOR}), vendor_id="acme")


def run(handler, principal, command, sink=None):
    uow = DjangoUnitOfWork("tenant-a", clock=lambda: NOW, **({"event_sink": sink} if sink else {}))
    order = handler(principal, command, uow)
    return order, uow.events


def checkout():
    return run(
        drafts.checkout_items,
        CUST,
        c.CheckoutItems(
            items=[CartItem("kettle", 1)],
            shipping_address=ADDRESS,
            customer=CUSTOMER,
            shipping_options=[c.ShippingChoice("acme", "acme-std")],
        ),
    )


def test_every_change_yields_its_events_in_sequence(catalog):
    order, events = checkout()
    assert [(e.type, e.sequence) for e in events] == [("order.created", 1)]
    assert events[0].tenant_id == "tenant-a" and events[0].order_id == order.order_id
    assert events[0].actor == "cust-1" and events[0].occurred_at == NOW

    _, events = run(lifecycle.place_order, CUST, c.PlaceOrder(order.order_id))
    assert [(e.type, e.sequence) for e in events] == [("order.placed", 2), ("order.status_changed", 3)]
    assert events[1].data["from_status"] == "DRAFT" and events[1].data["to_status"] == "PENDING"

    _, events = run(lifecycle.confirm_order, STAFF, c.ConfirmOrder(order.order_id, "card", "ch", "44.00"))
    assert [e.type for e in events] == ["order.confirmed", "order.status_changed"]
    _, events = run(lifecycle.ship_order, ACME, c.ShipOrder(order.order_id, "UPS", "1Z"))
    assert [(e.type, e.sequence) for e in events] == [("order.shipped", 6), ("order.status_changed", 7)]
    assert events[0].data["shipment"]["tracking_number"] == "1Z"
    _, events = run(lifecycle.deliver_order, STAFF, c.DeliverOrder(order.order_id))
    assert [e.type for e in events] == ["order.delivered", "order.status_changed"]
    _, events = run(lifecycle.complete_order, STAFF, c.CompleteOrder(order.order_id))
    assert [e.sequence for e in events] == [10, 11]
    assert models.Order.objects.get(id=order.order_id).event_sequence == 11


def test_cancellation_carries_reason_and_who(catalog):
    order, _ = checkout()
    _, events = run(lifecycle.cancel_order, CUST, c.CancelOrder(order.order_id, "too slow"))
    assert events[0].type == "order.cancelled"
    assert events[0].data["reason"] == "too slow" and events[0].data["cancelled_by"] == "cust-1"


def test_draft_edits_raise_no_events(catalog):
    order, _ = checkout()
    _, events = run(drafts.update_checkout_items, CUST, c.UpdateCheckoutItems(order.order_id, [CartItem("kettle", 2)]))
    assert events == []


def test_a_refused_change_yields_no_events_and_keeps_the_sequence(catalog):
    order, _ = checkout()
    with pytest.raises(InvalidTransition):
        run(lifecycle.deliver_order, STAFF, c.DeliverOrder(order.order_id))
    ProductSnapshot.objects.filter(product_id="kettle").update(active=False)
    with pytest.raises(ProductUnavailable):
        run(lifecycle.place_order, CUST, c.PlaceOrder(order.order_id))
    assert models.Order.objects.get(id=order.order_id).event_sequence == 1


def test_events_reach_the_sink_inside_the_transaction_and_a_failing_sink_rolls_back(catalog):
    order, _ = checkout()
    seen = []

    def sink(events):
        seen.append((list(events), models.Order.objects.get(id=order.order_id).status))

    _, events = run(lifecycle.place_order, CUST, c.PlaceOrder(order.order_id), sink=sink)
    assert seen == [(events, "PENDING")], "the sink sees the change it belongs to, before commit"

    def broken(events):
        raise RuntimeError("outbox unavailable")

    with pytest.raises(RuntimeError):
        run(lifecycle.cancel_order, CUST, c.CancelOrder(order.order_id, "r"), sink=broken)
    row = models.Order.objects.get(id=order.order_id)
    assert row.status == "PENDING" and row.event_sequence == 3 and row.cancel_reason == ""


def test_a_unit_of_work_left_without_commit_writes_nothing(catalog):
    order, _ = checkout()
    uow = DjangoUnitOfWork("tenant-a", clock=lambda: NOW)
    with uow:
        loaded = uow.orders.get(order.order_id, lock=True)
        loaded.cancel(reason="r", actor="cust-1", now=NOW)
        uow.orders.save(loaded)
    assert uow.events == []
    row = models.Order.objects.get(id=order.order_id)
    assert row.status == "DRAFT" and row.version == 1 and row.history.count() == 1


def test_adding_an_order_that_is_placed_already_reserves_its_lines(catalog):
    """The path an order import takes: the repository reserves whatever a new order holds, and a
    short product refuses the whole unit of work."""
    from ordering.domain.stock import StockShortage
    from snapshots.infrastructure.models import StockReservation

    ProductSnapshot.objects.filter(product_id="kettle").update(available_quantity=2)
    draft, _ = checkout()
    for quantity, expected in ((2, None), (1, StockShortage)):
        order = draft.__class__.checkout(
            tenant_id="tenant-a",
            customer=draft.customer,
            shipping_address=draft.shipping_address,
            priced=_priced_kettles(quantity),
            actor="import",
            now=NOW,
        )
        order.place(number=f"IMP-{quantity}", actor="import", now=NOW)
        uow = DjangoUnitOfWork("tenant-a", clock=lambda: NOW)
        if expected:
            with pytest.raises(expected), uow:
                uow.orders.add(order)
                uow.commit()
        else:
            with uow:
                uow.orders.add(order)
                uow.commit()
    assert ProductSnapshot.objects.get(product_id="kettle").reserved_quantity == 2
    assert list(StockReservation.objects.values_list("quantity", "at")) == [(2, NOW)]
    assert not models.Order.objects.filter(number="IMP-1").exists()


def _priced_kettles(quantity: int):
    from ordering.domain.checkout import price_cart
    from ordering.infrastructure.repositories.catalog import OrmCatalogReader

    catalog = OrmCatalogReader("tenant-a").load(product_ids=["kettle"], coupon_codes=[], option_ids=["acme-std"])
    return price_cart(
        [CartItem("kettle", quantity)],
        catalog,
        coupon_codes=[],
        selections={"acme": "acme-std"},
        destination_country="US",
        now=NOW,
        check_stock=False,
    )
