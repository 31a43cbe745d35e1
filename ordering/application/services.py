"""What the other apps use of ordering, by port: a unit of work for a tenant, the order reader, a
tenant's sales channels (the webhook doors run ordering's use cases with them; `manage.py
channels` manages them), and the outbox feed (the relay and the purge read the outbox with it).

Ordering's `AppConfig.ready` provides its adapters here (ordering/infrastructure); another app's
code asks for them by these functions instead of importing ordering's infrastructure, so the
import contracts hold (apps use each other's domain and application only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .ports import OrderReader, OutboxFeed, SalesChannelRegistry, SalesChannels, UnitOfWork


@dataclass(frozen=True)
class Adapters:
    unit_of_work: Callable[[str], UnitOfWork]  # tenant id -> a unit of work
    order_reader: Callable[[], OrderReader]
    sales_channels: Callable[[str], SalesChannels]  # tenant id -> its channels
    channel_registry: Callable[[str], SalesChannelRegistry]  # tenant id -> its channels, to manage
    outbox_feed: Callable[[], OutboxFeed]


_provided: Adapters | None = None


def provide(adapters: Adapters) -> None:
    global _provided
    _provided = adapters


def _adapters() -> Adapters:
    if _provided is None:
        raise RuntimeError("the ordering app is not ready: no adapters were provided")
    return _provided


def unit_of_work(tenant_id: str) -> UnitOfWork:
    return _adapters().unit_of_work(tenant_id)


def order_reader() -> OrderReader:
    return _adapters().order_reader()


def sales_channels(tenant_id: str) -> SalesChannels:
    return _adapters().sales_channels(tenant_id)


def channel_registry(tenant_id: str) -> SalesChannelRegistry:
    return _adapters().channel_registry(tenant_id)


def outbox_feed() -> OutboxFeed:
    return _adapters().outbox_feed()


# Other apps that keep copies of orders' data register how to erase values from them: called
# in the erasure's transaction with (tenant id, order ids, the erased values) (docs/privacy.md).
ErasureParticipant = Callable[[str, list[str], set[str]], None]
_participants: list[ErasureParticipant] = []


def add_erasure_participant(participant: ErasureParticipant) -> None:
    if participant not in _participants:
        _participants.append(participant)


def erasure_participants() -> list[ErasureParticipant]:
    return list(_participants)
