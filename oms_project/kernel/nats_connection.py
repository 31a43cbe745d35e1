"""The one way the OMS connects to NATS (the event stream's publisher and the live hub's reader).

The first connection is bounded by `within` seconds (nats-py would otherwise retry it for ever);
once connected, the client reconnects for ever, every half second. What a caller does on a
disconnect or a reconnect is its own (`disconnected`, `reconnected`); other client errors are
logged at debug level, since the callers log each failure that matters to them once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)

Callback = Callable[[], Awaitable[None]]


async def connect(
    url: str, *, within: float, disconnected: Callback | None = None, reconnected: Callback | None = None
) -> Any:
    """A connected nats-py client; raises what the first connection raised, or TimeoutError."""
    import nats

    async def quiet(error: Exception) -> None:
        logger.debug("nats: %s", error)

    options: dict[str, Any] = {"error_cb": quiet}
    if disconnected is not None:
        options["disconnected_cb"] = disconnected
    if reconnected is not None:
        options["reconnected_cb"] = reconnected
    return await asyncio.wait_for(
        nats.connect(
            url, connect_timeout=2, allow_reconnect=True, max_reconnect_attempts=-1, reconnect_time_wait=0.5, **options
        ),
        timeout=within,
    )
