"""Fair share for live connections (subscriptions, oms_project/live.py): the admission rules of a
connection that stays open.

A live connection is admitted once, at `connection_init`, after its token is verified:
- as a request: one point from the tenant's and the caller's buckets and a moment of the
  tenant's in-flight share (`Admission.admit`, released at once), so a reconnect storm is
  refused like any flood;
- as a held connection, counted in this process: a tenant holds at most its share of the
  process's live capacity (`OMS_LIVE_MAX_CONNECTIONS`) while another tenant holds any (the whole
  capacity while it is alone, as for requests), and one token `sub` at most
  `OMS_LIVE_MAX_CONNECTIONS_PER_TOKEN`.
A refused connection is closed with 1013 (Try Again Later) and the reason; clients retry with backoff.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from . import default_limits, lane
from .rules import OVER_SHARE, RATE_LIMITED, Limits

TRY_AGAIN_LATER = 1013


@dataclass(frozen=True)
class LiveVerdict:
    admitted: bool
    reason: str = ""  # OVER_SHARE or RATE_LIMITED
    message: str = ""


ADMITTED = LiveVerdict(True)


class LiveConnections:
    """The live connections this process holds, per tenant and per (tenant, caller)."""

    def __init__(self, capacity: int, per_caller: int, limits_of: Callable[[str], Limits]) -> None:
        self.capacity, self.per_caller, self.limits_of = capacity, per_caller, limits_of
        self.tenants: Counter[str] = Counter()
        self.callers: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def open(self, tenant_id: str, caller: str) -> LiveVerdict:
        """Hold one connection for the caller, or say why not (nothing held then)."""
        with self._lock:
            held = self.tenants[tenant_id]
            others = sum(self.tenants.values()) - held
            limit = self.limits_of(tenant_id).in_flight_limit(self.capacity, others_active=others > 0)
            if held >= limit or held + others >= self.capacity:
                return LiveVerdict(False, OVER_SHARE, f"the tenant holds its share of live connections ({limit})")
            if self.callers[(tenant_id, caller)] >= self.per_caller:
                return LiveVerdict(False, RATE_LIMITED, f"a token holds at most {self.per_caller} live connections")
            self.tenants[tenant_id] += 1
            self.callers[(tenant_id, caller)] += 1
            return ADMITTED

    def close(self, tenant_id: str, caller: str) -> None:
        with self._lock:
            self.tenants[tenant_id] -= 1
            self.callers[(tenant_id, caller)] -= 1
            if self.tenants[tenant_id] <= 0:
                del self.tenants[tenant_id]
            if self.callers[(tenant_id, caller)] <= 0:
                del self.callers[(tenant_id, caller)]


def admit_connection(tenant_id: str, caller: str) -> LiveVerdict:
    """The request side of a new connection: one point and a moment of the tenant's share."""
    admission = lane()
    if admission is None:
        return ADMITTED
    ticket = admission.admit(tenant_id, caller)
    if not ticket.admitted:
        reason = ticket.verdict.reason or RATE_LIMITED
        return LiveVerdict(False, reason, f"{reason}: retry after {ticket.verdict.retry_after_header} s")
    ticket.release()
    return ADMITTED


_PROCESS: LiveConnections | None = None


def live_connections() -> LiveConnections:
    """This process's count (its limits read from settings when it is first used)."""
    global _PROCESS
    if _PROCESS is None:
        admission = lane()
        limits_of = admission.limits_of if admission is not None else (lambda tenant: default_limits())
        _PROCESS = LiveConnections(
            settings.OMS_LIVE_MAX_CONNECTIONS, settings.OMS_LIVE_MAX_CONNECTIONS_PER_TOKEN, limits_of
        )
    return _PROCESS


def reset() -> None:
    """Forget this process's count and limits (tests change the settings)."""
    global _PROCESS
    _PROCESS = None


@receiver(setting_changed)
def _settings_changed(setting: str, **kwargs: object) -> None:
    if setting.startswith(("OMS_LIVE_", "OMS_ADMISSION", "OMS_RATE_LIMIT")):
        reset()
