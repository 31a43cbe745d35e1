"""The one way the OMS connects to NATS (the event stream's publisher and the live hub's reader).

The first connection is bounded by `within` seconds (nats-py would otherwise retry it for ever);
once connected, the client reconnects for ever, every half second. A dropped connection is logged
as a warning and its return as an info line with how long it was down (`ConnectionLog`, at most
one of each per `OUTAGE_LOG_INTERVAL` seconds, so a flapping server does not flood the log), and
`oms_stream_connected{client}` says whether the connection is up. What a caller does besides on a
disconnect or a reconnect is its own (`disconnected`, `reconnected`); other client errors are
logged at debug level, since the callers log each failure that matters to them once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .metrics import STREAM_CONNECTED

logger = logging.getLogger(__name__)

Callback = Callable[[], Awaitable[None]]
OUTAGE_LOG_INTERVAL = 30.0


class ConnectionLog:
    """Tells operators when a NATS connection drops and when it is back, rate-limited: a drop
    within `interval` seconds of the last logged one is counted, not logged, and the next line
    says how many there were."""

    def __init__(
        self,
        url: str,
        client: str,
        *,
        interval: float = OUTAGE_LOG_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url, self.client, self.interval, self.clock = url, client, interval, clock
        self.down_since: float | None = None
        self.last_warning = self.last_info = -interval
        self.unlogged_drops = 0

    def connected(self) -> None:
        STREAM_CONNECTED.labels(self.client).set(1)

    def disconnected(self) -> None:
        STREAM_CONNECTED.labels(self.client).set(0)
        now = self.clock()
        if self.down_since is None:
            self.down_since = now
        if now - self.last_warning < self.interval:
            self.unlogged_drops += 1
            return
        self.last_warning = now
        logger.warning(
            "nats: %s lost its connection to %s; reconnecting every 0.5 s%s",
            self.client,
            self.url,
            self._unlogged(),
        )

    def reconnected(self) -> None:
        STREAM_CONNECTED.labels(self.client).set(1)
        now = self.clock()
        down = 0.0 if self.down_since is None else now - self.down_since
        self.down_since = None
        if now - self.last_info < self.interval:
            return
        self.last_info = now
        logger.info("nats: %s reconnected to %s after %.1f s down%s", self.client, self.url, down, self._unlogged())

    def closed(self) -> None:
        STREAM_CONNECTED.labels(self.client).set(0)

    def _unlogged(self) -> str:
        drops, self.unlogged_drops = self.unlogged_drops, 0
        return f" ({drops} more drop(s) since the last line)" if drops else ""


async def connect(
    url: str,
    *,
    within: float,
    client: str,
    disconnected: Callback | None = None,
    reconnected: Callback | None = None,
) -> Any:
    """A connected nats-py client; raises what the first connection raised, or TimeoutError.
    `client` names the connection in the log and in `oms_stream_connected`."""
    import nats

    log = ConnectionLog(url, client)

    async def quiet(error: Exception) -> None:
        logger.debug("nats: %s", error)

    async def on_disconnect() -> None:
        log.disconnected()
        if disconnected is not None:
            await disconnected()

    async def on_reconnect() -> None:
        log.reconnected()
        if reconnected is not None:
            await reconnected()

    async def on_close() -> None:
        log.closed()

    connection = await asyncio.wait_for(
        nats.connect(
            url,
            connect_timeout=2,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            error_cb=quiet,
            disconnected_cb=on_disconnect,
            reconnected_cb=on_reconnect,
            closed_cb=on_close,
        ),
        timeout=within,
    )
    log.connected()
    return connection
