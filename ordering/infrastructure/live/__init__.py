"""Live order status in one process (ordering/application/live.py states the rules): the hub that
fans events out to the subscriptions open here (`hub`), fed by the outbox (`outbox`, the embedded
default) or by the event stream (`stream`, when `OMS_EVENT_STREAM_URL` is set)."""

from .hub import EnvelopeValue, LiveHub, LiveOrders, OrderUpdateValue

__all__ = ["EnvelopeValue", "LiveHub", "LiveOrders", "OrderUpdateValue"]
