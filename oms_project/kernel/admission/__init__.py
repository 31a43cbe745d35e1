"""Admission: the one home of fair share between tenants (docs/production.md, "Fair share").

Every request that works for a tenant is admitted here (`AdmissionMiddleware`) before its
document is parsed or its data is touched: API calls once their token is verified (the tenant
and the token's `sub` come from it), the webhook doors by the tenant in their URL, and the admin
by the signed-in staff member's tenant. The GraphQL view spends the document's cost on the
request's ticket once it is parsed. A request is refused with 429 when its
tenant holds its share of the serving capacity (`OVER_SHARE`) or a bucket cannot pay for it
(`RATE_LIMITED`), with `Retry-After` and the IETF `RateLimit-Policy` / `RateLimit` headers.

- The rules are `rules.py` (plain Python), the shared counts `stores.py` (SQLite on one machine,
  Redis across machines).
- A store that fails admits the request (fail open): a warning, at most one a minute, and
  `oms_admission_store_errors_total`. Admission protects capacity; it must never be the outage.
- `OMS_ADMISSION=off` admits everything without asking a store (comparison and emergencies).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from oms_project.kernel.admin_scope import admin_scope_of
from oms_project.kernel.errors import graphql_answer, http_status, problem
from oms_project.kernel.tenant_ids import is_tenant_id

from .rules import OVER_SHARE, RATE_LIMITED, Bucket, Limits, Verdict, over_share_wait
from .stores import ACTIVE_WINDOW, AdmissionStore, LocalStore, MemoryStore, RedisStore, Usage

logger = logging.getLogger("oms.admission")

__all__ = [
    "OVER_SHARE",
    "RATE_LIMITED",
    "Admission",
    "AdmissionMiddleware",
    "Limits",
    "Ticket",
    "graphql_refusal",
    "lane",
    "refusal_headers",
    "refusal_response",
]

MESSAGES = {
    OVER_SHARE: "the tenant already holds its share of the serving capacity; retry after the given seconds",
    RATE_LIMITED: "the rate limit is spent; retry after the given seconds",
}


def default_limits() -> Limits:
    """The platform's defaults (OMS_ADMISSION_* and OMS_RATE_LIMIT_* settings)."""
    return Limits(
        share=settings.OMS_ADMISSION_SHARE,
        rate=settings.OMS_RATE_LIMIT_RATE,
        burst=settings.OMS_RATE_LIMIT_BURST,
        token_rate=settings.OMS_RATE_LIMIT_TOKEN_RATE,
        token_burst=settings.OMS_RATE_LIMIT_TOKEN_BURST,
    )


class _Throttled:
    """Something logged at most once per `seconds` per key (per process)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def due(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -math.inf) < self.seconds:
                return False
            if len(self._last) > 10_000:
                self._last.clear()
            self._last[key] = now
            return True


_REFUSAL_LOG = _Throttled(60.0)
_STORE_ERROR_LOG = _Throttled(60.0)


@dataclass
class Ticket:
    """One admitted request: its lease on a slot, what it has spent, and its budget's state."""

    admission: Admission | None  # None: admitted without a store (off, or the store failed)
    tenant_id: str
    caller: str
    limits: Limits
    lease: str = ""
    spent: float = 0.0  # points the store has taken for this request
    owed: float = 0.0  # points the request will be charged when it is released
    verdict: Verdict = field(default_factory=lambda: Verdict(True))
    requested_cost: int | None = None
    actual_cost: int | None = None
    _released: bool = False

    @property
    def admitted(self) -> bool:
        return self.verdict.admitted

    def spend(self, cost: float) -> Verdict:
        """Spend up to `cost` in all (the request's first point was spent at admission). A cost
        that fits in what both buckets held at admission is charged when the request is released
        (one store step fewer; concurrent requests may overdraw a bucket by what they hold); a
        larger one is spent from the store now, or refused."""
        self.requested_cost = int(cost)
        extra = cost - self.spent - self.owed
        if self.admission is None or extra <= 0:
            return Verdict(
                True, tenant_remaining=self.verdict.tenant_remaining, caller_remaining=self.verdict.caller_remaining
            )
        if extra <= min(self.verdict.tenant_remaining, self.verdict.caller_remaining):
            self.owed += extra
            return Verdict(
                True,
                tenant_remaining=self.verdict.tenant_remaining - extra,
                caller_remaining=self.verdict.caller_remaining - extra,
            )
        verdict = self.admission._call(lambda store: store.spend(self.tenant_id, self.caller, extra, self.limits))
        if verdict is None:
            return Verdict(True)
        if verdict.admitted:
            self.spent += extra
            self.verdict = verdict
        else:
            self.admission._refused(self.tenant_id, verdict)
        return verdict

    def release(self, actual_cost: float | None = None) -> None:
        """Give the slot back (once), and settle: what the store took beyond `actual_cost` goes
        back, what the request still owes (or cost beyond its request) is charged."""
        if self._released:
            return
        self._released = True
        if actual_cost is not None:
            self.actual_cost = int(actual_cost)
        if self.admission is None:
            return
        final = actual_cost if actual_cost is not None else self.spent + self.owed
        verdict = self.admission._call(
            lambda store: store.release(self.tenant_id, self.caller, self.lease, self.spent - final, self.limits)
        )
        if verdict is not None:
            self.verdict = verdict

    def headers(self) -> dict[str, str]:
        """The rate-limit headers of the answer (none when admitted without a store)."""
        if self.admission is None:
            return {}
        return rate_limit_headers(self.limits, self.verdict, self.admission.capacity)

    def cost_extension(self) -> dict[str, Any] | None:
        """`extensions.cost` of an API answer (the tenant's bucket, as Shopify reports it)."""
        if self.admission is None or self.requested_cost is None:
            return None
        return {
            "requestedQueryCost": self.requested_cost,
            "actualQueryCost": self.actual_cost if self.actual_cost is not None else self.requested_cost,
            "throttleStatus": {
                "maximumAvailable": self.limits.burst,
                "currentlyAvailable": math.floor(self.verdict.tenant_remaining),
                "restoreRate": self.limits.rate,
            },
        }


def rate_limit_headers(limits: Limits, verdict: Verdict, capacity: int | None) -> dict[str, str]:
    """`RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers): the tenant's and
    the caller's buckets in cost points (`w`: seconds an empty bucket takes to fill), and the
    share of concurrent requests."""
    tenant, caller = Bucket(limits.rate, limits.burst), Bucket(limits.token_rate, limits.token_burst)
    policy = [
        f'"tenant";q={math.floor(limits.burst)};w={tenant.window}',
        f'"caller";q={math.floor(limits.token_burst)};w={caller.window}',
    ]
    if capacity is not None:
        policy.append(f'"share";q={limits.max_in_flight(capacity)};qu="concurrent-requests"')
    if verdict.reason == OVER_SHARE:  # refused before the buckets were asked: only the share is known
        current = [f'"share";r=0;t={verdict.retry_after_header}']
    else:

        def refill(left: float, bucket: Bucket) -> int:
            return max(0, math.ceil((bucket.burst - left) / bucket.rate))

        current = [
            f'"tenant";r={math.floor(verdict.tenant_remaining)};t={refill(verdict.tenant_remaining, tenant)}',
            f'"caller";r={math.floor(verdict.caller_remaining)};t={refill(verdict.caller_remaining, caller)}',
        ]
    return {"RateLimit-Policy": ", ".join(policy), "RateLimit": ", ".join(current)}


class Admission:
    """Admits requests against a store, per tenant and caller."""

    def __init__(
        self,
        store: AdmissionStore,
        capacity: int,
        limits_of: Callable[[str], Limits],
        active_window: float = ACTIVE_WINDOW,
        retry_spread: int = 1,
    ) -> None:
        self.store = store
        self.capacity = capacity
        self.limits_of = limits_of
        self.active_window = active_window
        self.retry_spread = retry_spread  # OVER_SHARE's Retry-After: 1 to this many seconds

    def admit(self, tenant_id: str, caller: str, cost: float = 1) -> Ticket:
        """A ticket for the request; `ticket.admitted` is false when it is refused (nothing held)."""
        limits = self.limits_of(tenant_id)
        lease = uuid.uuid4().hex
        verdict = self._call(
            lambda store: store.admit(tenant_id, caller, lease, limits, self.capacity, self.active_window)
        )
        if verdict is None:
            return Ticket(None, tenant_id, caller, limits)
        if not verdict.admitted:
            if verdict.reason == OVER_SHARE:
                verdict = dataclasses.replace(verdict, retry_after=over_share_wait(self.retry_spread))
            self._refused(tenant_id, verdict)
            return Ticket(self, tenant_id, caller, limits, verdict=verdict, _released=True)
        ticket = Ticket(self, tenant_id, caller, limits, lease=lease, spent=1, verdict=verdict)
        if cost > 1:
            spent = ticket.spend(cost)
            if not spent.admitted:
                ticket.release()
                ticket.verdict = spent
        return ticket

    def _call(self, step: Callable[[AdmissionStore], Verdict]) -> Verdict | None:
        """The store's answer, or None when the store failed (the request is admitted)."""
        from oms_project.kernel.metrics import ADMISSION_STORE_ERRORS

        try:
            return step(self.store)
        except Exception as error:  # fail open: admission must never be the outage
            ADMISSION_STORE_ERRORS.inc()
            if _STORE_ERROR_LOG.due("store"):
                logger.warning(
                    "admission store unavailable, admitting without limits: %s: %s", type(error).__name__, error
                )
            return None

    def _refused(self, tenant_id: str, verdict: Verdict) -> None:
        from oms_project.kernel.metrics import ADMISSION_REFUSED

        ADMISSION_REFUSED.labels(tenant_id, verdict.reason).inc()
        if _REFUSAL_LOG.due(f"{tenant_id}\x1f{verdict.reason}"):
            state = (
                f"{verdict.in_flight} requests in progress, its share"
                if verdict.reason == OVER_SHARE
                else f"{verdict.tenant_remaining:.0f} points left to the tenant, "
                f"{verdict.caller_remaining:.0f} to the caller"
            )
            logger.warning(
                "tenant %s is being refused (%s): %s; retry after %.2f s (logged once a minute)",
                tenant_id,
                verdict.reason,
                state,
                verdict.retry_after,
                extra={"tenant_id": tenant_id, "reason": verdict.reason},
            )

    def usage(self) -> list[Usage]:
        """Each tenant's use now (empty when the store cannot say)."""
        try:
            return self.store.usage()
        except Exception:
            return []


def graphql_refusal(verdict: Verdict) -> dict[str, Any]:
    """A refusal as a GraphQL answer's body."""
    code = verdict.reason or RATE_LIMITED
    return graphql_answer(code, MESSAGES[code], retryAfter=verdict.retry_after_header)


def refusal_headers(ticket: Ticket, verdict: Verdict) -> dict[str, str]:
    capacity = ticket.admission.capacity if ticket.admission else None
    return {"Retry-After": str(verdict.retry_after_header), **rate_limit_headers(ticket.limits, verdict, capacity)}


def refusal_response(ticket: Ticket, *, graphql: bool) -> HttpResponse:
    """429 with `Retry-After`, the rate-limit headers, and the code: a GraphQL error on the API,
    the webhook doors' problem shape elsewhere. Made as cheaply as Django allows: refusing must
    stay much cheaper than serving (`make bench-fairness`)."""
    verdict = ticket.verdict
    code = verdict.reason or RATE_LIMITED
    body = graphql_refusal(verdict) if graphql else problem(code, MESSAGES[code])
    response = HttpResponse(
        json.dumps(body),
        status=http_status(code),
        content_type="application/json",
        headers=refusal_headers(ticket, verdict),
    )
    response.oms_outcome = code.lower()  # type: ignore[attr-defined]  # the webhook receipts metric's label
    # Not one "Too Many Requests" warning per refusal from django.request: refusals are counted in
    # oms_admission_refused_total and logged once a minute per tenant (Admission._refused).
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django's own flag
    return response


_UNSET = object()
_LANE: object = _UNSET
_LANE_LOCK = threading.Lock()
_SETTINGS = (
    "OMS_ADMISSION",
    "OMS_RATE_LIMIT_REDIS_URL",
    "OMS_ADMISSION_STATE_FILE",
    "OMS_SERVING_CAPACITY",
    "OMS_ADMISSION_LEASE_SECONDS",
    "OMS_ADMISSION_RETRY_SPREAD_SECONDS",
    "OMS_ADMISSION_SHARE",
    "OMS_RATE_LIMIT_RATE",
    "OMS_RATE_LIMIT_BURST",
    "OMS_RATE_LIMIT_TOKEN_RATE",
    "OMS_RATE_LIMIT_TOKEN_BURST",
)


def lane() -> Admission | None:
    """The process's admission, built from settings once (None while `OMS_ADMISSION` is off)."""
    global _LANE
    current = _LANE
    if current is _UNSET:
        with _LANE_LOCK:
            if _LANE is _UNSET:
                _LANE = _build()
            current = _LANE
    return current  # type: ignore[return-value]


_TENANT_LIMITS: Callable[[str, Limits], Limits] | None = None


def provide_tenant_limits(limits_of: Callable[[str, Limits], Limits]) -> None:
    """Set where a tenant's own limits come from: `limits_of(tenant_id, defaults)` (the identity
    app's tenant registry provides it when it is ready). Until then every tenant has the
    platform's defaults."""
    global _LANE, _TENANT_LIMITS
    _TENANT_LIMITS = limits_of
    _LANE = _UNSET


def _build() -> Admission | None:
    if not settings.OMS_ADMISSION:
        return None

    lease_seconds = settings.OMS_ADMISSION_LEASE_SECONDS
    store: AdmissionStore
    if settings.OMS_RATE_LIMIT_REDIS_URL:
        store = RedisStore(settings.OMS_RATE_LIMIT_REDIS_URL, lease_seconds)
    elif settings.OMS_ADMISSION_STATE_FILE:
        store = LocalStore(settings.OMS_ADMISSION_STATE_FILE, lease_seconds)
    else:
        store = MemoryStore(lease_seconds)
    defaults = default_limits()  # read once: a changed setting builds the lane again
    limits_of = _TENANT_LIMITS
    spread = settings.OMS_ADMISSION_RETRY_SPREAD_SECONDS
    if limits_of is None:
        return Admission(store, settings.OMS_SERVING_CAPACITY, lambda tenant: defaults, retry_spread=spread)
    return Admission(
        store, settings.OMS_SERVING_CAPACITY, lambda tenant: limits_of(tenant, defaults), retry_spread=spread
    )


@receiver(setting_changed)
def _settings_changed(setting: str, **kwargs: Any) -> None:
    """A changed admission setting (tests) builds the lane again on its next use."""
    global _LANE
    if setting in _SETTINGS:
        _LANE = _UNSET


def reset() -> None:
    """Forget every count of this process's store, and which warnings were logged (tests)."""
    from . import live

    live.reset()
    for log in (_REFUSAL_LOG, _STORE_ERROR_LOG):
        log._last.clear()
    current = lane()
    if current is not None and isinstance(current.store, (LocalStore, MemoryStore)):
        current.store.clear()


# -- the webhook doors and the admin -------------------------------------------------------------
WEBHOOKS_PREFIX = "/webhooks/"
ADMIN_PREFIX = "/admin/"
PLATFORM = "*platform"  # the admission key of platform operators in the admin (no tenant id has a '*')


def _webhook_tenant(path: str) -> str | None:
    tenant_id = path[len(WEBHOOKS_PREFIX) :].split("/", 1)[0]
    return tenant_id if is_tenant_id(tenant_id) else None


class AdmissionMiddleware:
    """The one door of admission, listed after the middleware every answer needs (host check,
    security headers) and before the admin's and the views' work:

    - API calls (a bearer token on `/graphql/`): the token is verified here (the view reuses the
      principal; a bad token is left to the view's 401), then admitted for its tenant and `sub`
      before the body is read. The view spends the document's cost on the ticket
      (`request.oms_ticket`) once it is parsed, and gives back what the answer did not use.
    - Webhook deliveries: by the tenant in the URL; the caller is the door.
    - Signed-in admin requests: by the staff member's tenant; the caller is the user.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        # Imported here, not with the package: gunicorn's master imports the stores without Django.
        from oms_project.kernel.api_lane import is_api_request

        self.get_response = get_response
        self.is_api_request = is_api_request

    @staticmethod
    def principal_of(request: HttpRequest) -> Any:
        """The verified caller of an API request (its `tenant_id` and `user_id`), or an exception
        when its token is refused: the composition root's subclass wires the GraphQL view's
        (`oms_project.middleware.AdmissionMiddleware`)."""
        raise NotImplementedError

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if self.is_api_request(request):
            try:
                principal = self.principal_of(request)
            except Exception:  # refused by authentication: the view answers it
                return self.get_response(request)
            return self._admitted(request, principal.tenant_id, principal.user_id, 1, graphql=True)
        if path.startswith(WEBHOOKS_PREFIX) and request.method == "POST":
            tenant_id = _webhook_tenant(path)
            door = path[len(WEBHOOKS_PREFIX) :].split("/")[1:2]
            caller = "webhook:" + (door[0] if door and door[0] else "snapshots")
            if tenant_id is not None:
                return self._admitted(request, tenant_id, caller, settings.OMS_ADMISSION_MUTATION_COST)
        elif path.startswith(ADMIN_PREFIX):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                scope = admin_scope_of(user)
                cost = 1 if request.method in ("GET", "HEAD") else settings.OMS_ADMISSION_MUTATION_COST
                return self._admitted(request, scope.tenant_id or PLATFORM, f"admin:{user.pk}", cost)
        return self.get_response(request)

    def _admitted(
        self, request: HttpRequest, tenant_id: str, caller: str, cost: float, *, graphql: bool = False
    ) -> HttpResponse:
        admission = lane()
        if admission is None:
            return self.get_response(request)
        ticket = admission.admit(tenant_id, caller, cost)
        if not ticket.admitted:
            return refusal_response(ticket, graphql=graphql)
        request.oms_ticket = ticket  # type: ignore[attr-defined]  # the GraphQL view spends on it
        try:
            response = self.get_response(request)
        finally:
            ticket.release()
        refused = getattr(request, "oms_refused", None)  # the document's cost did not fit (the view)
        headers = refusal_headers(ticket, refused) if refused is not None else ticket.headers()
        for name, value in headers.items():
            response[name] = value
        if refused is not None:
            response._has_been_logged = True  # type: ignore[attr-defined]  # counted and logged here, not by django.request
        return response
