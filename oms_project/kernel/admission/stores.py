"""Where admission keeps its counts: SQLite on this machine, or Redis shared by machines.

Both stores do each step atomically and answer with a `rules.Verdict`:

- `admit`: take a lease on one of the tenant's in-flight slots (its share while another tenant was
  admitted in the last `window` seconds, else the whole capacity) and spend the first point of
  the tenant's and the caller's buckets, or refuse (`OVER_SHARE`, `RATE_LIMITED`) having changed
  nothing;
- `spend`: spend more of both buckets (the document's cost, known once it is parsed), or refuse;
- `release`: give the slot back, and settle the request's cost: the points it did not use go
  back (`adjust` > 0), what it still owes is charged (`adjust` < 0).

`MemoryStore` keeps them in one process's memory (`make run`, the tests). `LocalStore` is SQLite
(the standard library's) in a file that every process of one machine opens (gunicorn's workers:
`gunicorn.conf.py` names one per server in `OMS_ADMISSION_STATE_FILE`), so the share holds across
sync workers without any server to run. `RedisStore` runs the same rules as Lua scripts on Redis
(`OMS_RATE_LIMIT_REDIS_URL`), so several app servers share one budget. docs/decisions.md says why
neither is a rate-limiting library.

A lease expires after `lease_seconds` (longer than any request may run), so a worker that dies
mid-request gives its slot back by itself; gunicorn's master also drops a dead worker's leases at
once (`forget_process`).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .rules import OVER_SHARE, RATE_LIMITED, Bucket, Limits, Verdict, caller_key, gcra, refund

R = TypeVar("R")
# What one step of a transaction writes: a statement and its rows of parameters.
Changes = list[tuple[str, Sequence[Sequence[Any]]]]
Step = Callable[[sqlite3.Connection, float], tuple[R, Changes]]

ACTIVE_WINDOW = 2.0  # seconds: a tenant admitted this recently is being served


@dataclass(frozen=True)
class Usage:
    """One tenant's current use, for `/metrics` and the admin."""

    tenant_id: str
    in_flight: int
    remaining: float | None  # points in the tenant's bucket; None: full (nothing spent lately)


class AdmissionStore(Protocol):
    def admit(
        self, tenant_id: str, caller: str, lease: str, limits: Limits, capacity: int, window: float = ACTIVE_WINDOW
    ) -> Verdict: ...

    def spend(self, tenant_id: str, caller: str, cost: float, limits: Limits) -> Verdict: ...

    def release(self, tenant_id: str, caller: str, lease: str, adjust: float, limits: Limits) -> Verdict: ...

    def usage(self) -> list[Usage]: ...


def _buckets(limits: Limits) -> tuple[Bucket, Bucket]:
    return Bucket(limits.rate, limits.burst), Bucket(limits.token_rate, limits.token_burst)


class LocalStore:
    """SQLite: `path` None keeps the state in this process's memory; a file shares it with every
    process of the machine that opens the same file (writes serialised by SQLite's lock)."""

    PRUNE_EVERY = 512  # admissions between two sweeps of expired leases and full buckets

    def __init__(
        self, path: str | None = None, lease_seconds: float = 60.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = path
        self.lease_seconds = lease_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._lock_file: int | None = None
        self._pid = 0
        self._admits = 0

    def _connection(self) -> sqlite3.Connection:
        if self._db is None or self._pid != os.getpid():  # a forked worker opens its own
            db = sqlite3.connect(self.path or ":memory:", timeout=1.0, isolation_level=None, check_same_thread=False)
            if self.path:
                # Writers queue on a kernel lock, woken the moment it is free; SQLite's own lock
                # is then never contended (its busy handler sleeps 1, 2, 5 ... 100 ms between tries,
                # which a worker descheduled while holding the lock turns into a long wait).
                self._lock_file = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=OFF")  # counts, not records: a crash loses nothing that matters
            db.executescript("""
                CREATE TABLE IF NOT EXISTS lease (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, expires REAL NOT NULL,
                                                  pid INTEGER NOT NULL) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS lease_by_tenant ON lease (tenant, expires);
                CREATE TABLE IF NOT EXISTS bucket (key TEXT PRIMARY KEY, tenant TEXT NOT NULL, tat REAL NOT NULL,
                                                   rate REAL NOT NULL, burst REAL NOT NULL) WITHOUT ROWID;
                CREATE TABLE IF NOT EXISTS served (tenant TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS served_at ON served (at);
            """)
            self._db, self._pid = db, os.getpid()
        return self._db

    def _transaction(self, step: Step[R]) -> R:
        with self._lock:
            db = self._connection()
            if self._lock_file is not None:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    verdict, changes = step(db, self.clock())
                    for statement, rows in changes:
                        db.executemany(statement, rows)
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            finally:
                if self._lock_file is not None:
                    fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            return verdict

    def _tats(self, db: sqlite3.Connection, keys: tuple[str, str]) -> tuple[float | None, float | None]:
        found = dict(db.execute("SELECT key, tat FROM bucket WHERE key IN (?, ?)", keys).fetchall())
        return found.get(keys[0]), found.get(keys[1])

    def _spend(
        self,
        db: sqlite3.Connection,
        now: float,
        tenant_id: str,
        caller: str,
        cost: float,
        limits: Limits,
        in_flight: int = 0,
    ) -> tuple[Verdict, Changes]:
        keys = (tenant_id, caller_key(tenant_id, caller))
        tenant_bucket, caller_bucket = _buckets(limits)
        tenant_tat, caller_tat = self._tats(db, keys)
        on_tenant = gcra(tenant_tat, now, cost, tenant_bucket)
        on_caller = gcra(caller_tat, now, cost, caller_bucket)
        if not (on_tenant.allowed and on_caller.allowed):
            return Verdict(
                False,
                RATE_LIMITED,
                max(on_tenant.retry_after, on_caller.retry_after),
                on_tenant.remaining,
                on_caller.remaining,
                in_flight,
            ), []
        rows = [
            (keys[0], tenant_id, on_tenant.tat, tenant_bucket.rate, tenant_bucket.burst),
            (keys[1], tenant_id, on_caller.tat, caller_bucket.rate, caller_bucket.burst),
        ]
        return (
            Verdict(True, None, 0.0, on_tenant.remaining, on_caller.remaining, in_flight),
            [("INSERT OR REPLACE INTO bucket (key, tenant, tat, rate, burst) VALUES (?, ?, ?, ?, ?)", rows)],
        )

    def admit(
        self, tenant_id: str, caller: str, lease: str, limits: Limits, capacity: int, window: float = ACTIVE_WINDOW
    ) -> Verdict:
        def step(db: sqlite3.Connection, now: float) -> tuple[Verdict, Changes]:
            self._admits += 1
            if self._admits % self.PRUNE_EVERY == 0:
                db.execute("DELETE FROM lease WHERE expires <= ?", (now,))
                db.execute("DELETE FROM bucket WHERE tat <= ?", (now,))
                db.execute("DELETE FROM served WHERE at <= ?", (now - window,))
            (held,) = db.execute(
                "SELECT count(*) FROM lease WHERE tenant = ? AND expires > ?", (tenant_id, now)
            ).fetchone()
            others = (
                db.execute(
                    "SELECT 1 FROM served WHERE at > ? AND tenant != ? LIMIT 1", (now - window, tenant_id)
                ).fetchone()
                is not None
            )
            if held >= limits.in_flight_limit(capacity, others):
                return Verdict(False, OVER_SHARE, 1.0, in_flight=held), []
            verdict, changes = self._spend(db, now, tenant_id, caller, 1, limits, held + 1)
            if verdict.admitted:
                changes.append(
                    (
                        "INSERT INTO lease (id, tenant, expires, pid) VALUES (?, ?, ?, ?)",
                        [(lease, tenant_id, now + self.lease_seconds, os.getpid())],
                    )
                )
                changes.append(("INSERT OR REPLACE INTO served (tenant, at) VALUES (?, ?)", [(tenant_id, now)]))
            return verdict, changes

        return self._transaction(step)

    def spend(self, tenant_id: str, caller: str, cost: float, limits: Limits) -> Verdict:
        if cost <= 0:
            return Verdict(True)
        return self._transaction(lambda db, now: self._spend(db, now, tenant_id, caller, cost, limits))

    def release(self, tenant_id: str, caller: str, lease: str, adjust: float, limits: Limits) -> Verdict:
        def step(db: sqlite3.Connection, now: float) -> tuple[Verdict, Changes]:
            changes: Changes = [("DELETE FROM lease WHERE id = ?", [(lease,)])]
            keys = (tenant_id, caller_key(tenant_id, caller))
            tenant_bucket, caller_bucket = _buckets(limits)
            tats = self._tats(db, keys)
            if adjust:
                tats = (refund(tats[0], now, adjust, tenant_bucket), refund(tats[1], now, adjust, caller_bucket))
                changes.append(
                    (
                        "INSERT OR REPLACE INTO bucket (key, tenant, tat, rate, burst) VALUES (?, ?, ?, ?, ?)",
                        [
                            (key, tenant_id, tat, bucket.rate, bucket.burst)
                            for tat, key, bucket in zip(tats, keys, (tenant_bucket, caller_bucket))
                            if tat is not None
                        ],
                    )
                )
            return Verdict(
                True, None, 0.0, _remaining(tats[0], now, tenant_bucket), _remaining(tats[1], now, caller_bucket)
            ), changes

        return self._transaction(step)

    def usage(self) -> list[Usage]:
        with self._lock:
            db, now = self._connection(), self.clock()
            held = dict(
                db.execute("SELECT tenant, count(*) FROM lease WHERE expires > ? GROUP BY tenant", (now,)).fetchall()
            )
            left = {
                tenant: _remaining(tat, now, Bucket(rate, burst))
                for tenant, tat, rate, burst in db.execute(
                    "SELECT key, tat, rate, burst FROM bucket WHERE key = tenant AND tat > ?", (now,)
                )
            }
        return [Usage(tenant, held.get(tenant, 0), left.get(tenant)) for tenant in sorted(set(held) | set(left))]

    def forget_process(self, pid: int) -> int:
        """Drop the leases a dead process held (gunicorn's `child_exit`)."""
        return self._transaction(lambda db, now: (db.execute("DELETE FROM lease WHERE pid = ?", (pid,)).rowcount, []))

    def clear(self) -> None:
        with self._lock:
            self._connection().executescript("DELETE FROM lease; DELETE FROM bucket; DELETE FROM served;")


class MemoryStore:
    """The same rules in this process's memory, for a single process (`make run`, the tests):
    plain dictionaries under one lock, a few microseconds a step."""

    def __init__(self, lease_seconds: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        self.lease_seconds = lease_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._leases: dict[str, dict[str, float]] = {}  # tenant -> lease -> expires
        self._tats: dict[str, tuple[float, Bucket]] = {}  # bucket key -> (tat, bucket)
        self._served: dict[str, float] = {}  # tenant -> last admitted

    def _held(self, tenant_id: str, now: float) -> int:
        leases = self._leases.get(tenant_id)
        if not leases:
            return 0
        for lease in [lease for lease, expires in leases.items() if expires <= now]:
            del leases[lease]
        return len(leases)

    def _spend(
        self, now: float, tenant_id: str, caller: str, cost: float, limits: Limits, in_flight: int = 0
    ) -> Verdict:
        keys = (tenant_id, caller_key(tenant_id, caller))
        buckets = _buckets(limits)
        states = [gcra(self._tat(key), now, cost, bucket) for key, bucket in zip(keys, buckets)]
        if not all(state.allowed for state in states):
            return Verdict(
                False,
                RATE_LIMITED,
                max(state.retry_after for state in states),
                states[0].remaining,
                states[1].remaining,
                in_flight,
            )
        for key, bucket, state in zip(keys, buckets, states):
            self._tats[key] = (state.tat, bucket)
        return Verdict(True, None, 0.0, states[0].remaining, states[1].remaining, in_flight)

    def _tat(self, key: str) -> float | None:
        found = self._tats.get(key)
        return found[0] if found is not None else None

    def admit(
        self, tenant_id: str, caller: str, lease: str, limits: Limits, capacity: int, window: float = ACTIVE_WINDOW
    ) -> Verdict:
        with self._lock:
            now = self.clock()
            if len(self._tats) > 100_000:  # callers come and go: forget the full buckets
                self._tats = {key: value for key, value in self._tats.items() if value[0] > now}
            held = self._held(tenant_id, now)
            others = any(at > now - window for tenant, at in self._served.items() if tenant != tenant_id)
            if held >= limits.in_flight_limit(capacity, others):
                return Verdict(False, OVER_SHARE, 1.0, in_flight=held)
            verdict = self._spend(now, tenant_id, caller, 1, limits, held + 1)
            if verdict.admitted:
                self._leases.setdefault(tenant_id, {})[lease] = now + self.lease_seconds
                self._served[tenant_id] = now
            return verdict

    def spend(self, tenant_id: str, caller: str, cost: float, limits: Limits) -> Verdict:
        if cost <= 0:
            return Verdict(True)
        with self._lock:
            return self._spend(self.clock(), tenant_id, caller, cost, limits)

    def release(self, tenant_id: str, caller: str, lease: str, adjust: float, limits: Limits) -> Verdict:
        with self._lock:
            now = self.clock()
            self._leases.get(tenant_id, {}).pop(lease, None)
            keys = (tenant_id, caller_key(tenant_id, caller))
            left = []
            for key, bucket in zip(keys, _buckets(limits)):
                tat = self._tat(key)
                if adjust:
                    tat = refund(tat, now, adjust, bucket)
                    if tat is not None:
                        self._tats[key] = (tat, bucket)
                left.append(_remaining(tat, now, bucket))
            return Verdict(True, None, 0.0, left[0], left[1])

    def usage(self) -> list[Usage]:
        with self._lock:
            now = self.clock()
            held = {tenant: self._held(tenant, now) for tenant in list(self._leases)}
            left = {
                key: _remaining(tat, now, bucket)
                for key, (tat, bucket) in self._tats.items()
                if "\x1f" not in key and tat > now
            }
        return [
            Usage(tenant, held.get(tenant, 0), left.get(tenant))
            for tenant in sorted({t for t, n in held.items() if n} | set(left))
        ]

    def clear(self) -> None:
        with self._lock:
            self._leases.clear()
            self._tats.clear()
            self._served.clear()


def _remaining(tat: float | None, now: float, bucket: Bucket) -> float:
    if tat is None or tat <= now:
        return bucket.burst
    return max(0.0, bucket.burst - (tat - now) * bucket.rate)


# -- Redis ----------------------------------------------------------------------------------------
# The same steps as LocalStore, one script each. Redis' clock (TIME) is the one clock of every app
# server. Keys share the {tenant} hash tag, so a tenant's keys live on one node of a cluster.
# Numbers come back as strings (Redis truncates Lua numbers to integers).
_GCRA_LUA = """
local now
do local t = redis.call('TIME'); now = tonumber(t[1]) + tonumber(t[2]) / 1000000 end
local function gcra(key, cost, rate, burst)
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local new = tat + cost / rate
  local tolerance = burst / rate
  if new - now <= tolerance + 1e-9 then return true, new, (tolerance - (new - now)) * rate, 0 end
  return false, tat, (tolerance - (tat - now)) * rate, new - now - tolerance
end
local function spend(cost, rate, burst, crate, cburst)
  local ok1, tat1, left1, wait1 = gcra(KEYS[2], cost, rate, burst)
  local ok2, tat2, left2, wait2 = gcra(KEYS[3], cost, crate, cburst)
  if not (ok1 and ok2) then return false, left1, left2, math.max(wait1, wait2) end
  redis.call('SET', KEYS[2], tostring(tat1), 'PX', math.ceil((tat1 - now) * 1000) + 1000)
  redis.call('SET', KEYS[3], tostring(tat2), 'PX', math.ceil((tat2 - now) * 1000) + 1000)
  return true, left1, left2, 0
end
"""
ADMIT_LUA = (
    _GCRA_LUA
    + """
-- KEYS: in-flight set, tenant bucket, caller bucket, the tenants seen, the tenants served lately;
-- ARGV: lease, lease seconds, share slots, rate, burst, caller rate, caller burst, tenant id,
-- capacity, window seconds
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
local window = tonumber(ARGV[10])
local recent = redis.call('ZRANGEBYSCORE', KEYS[5], now - window, '+inf', 'LIMIT', 0, 2)
local others = #recent > 1 or (#recent == 1 and recent[1] ~= ARGV[8])
local limit = others and tonumber(ARGV[3]) or tonumber(ARGV[9])
if held >= limit then return {'OVER_SHARE', '1', '0', '0', tostring(held)} end
local ok, left1, left2, wait = spend(1, tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]))
if not ok then return {'RATE_LIMITED', tostring(wait), tostring(left1), tostring(left2), tostring(held)} end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
redis.call('HSET', KEYS[4], ARGV[8], ARGV[4] .. ' ' .. ARGV[5])
redis.call('ZADD', KEYS[5], now, ARGV[8])
if math.random(256) == 1 then redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - window) end
return {'', '0', tostring(left1), tostring(left2), tostring(held + 1)}
"""
)
SPEND_LUA = (
    _GCRA_LUA
    + """
-- KEYS: -, tenant bucket, caller bucket; ARGV: cost, rate, burst, caller rate, caller burst
local ok, left1, left2, wait = spend(tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),
                                     tonumber(ARGV[5]))
return {ok and '' or 'RATE_LIMITED', tostring(wait), tostring(left1), tostring(left2), '0'}
"""
)
RELEASE_LUA = (
    _GCRA_LUA
    + """
-- KEYS: in-flight set, tenant bucket, caller bucket; ARGV: lease, adjust (> 0: points back, < 0:
-- points charged), rate, burst, caller rate, caller burst
redis.call('ZREM', KEYS[1], ARGV[1])
local lefts = {}
local adjust = tonumber(ARGV[2])
for i, key in ipairs({KEYS[2], KEYS[3]}) do
  local rate, burst = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  local tat = tonumber(redis.call('GET', key))
  if adjust < 0 or (tat ~= nil and adjust > 0) then
    tat = math.max(now, math.max(tat or now, now) - adjust / rate)
    redis.call('SET', key, tostring(tat), 'PX', math.ceil((tat - now) * 1000) + 1000)
  end
  if tat == nil or tat < now then tat = now end
  lefts[i] = tostring(math.max(0, burst - (tat - now) * rate))
end
return {'', '0', lefts[1], lefts[2], '0'}
"""
)
USAGE_LUA = """
-- KEYS: the tenants seen; returns tenant, in flight, points left, flat
local t = redis.call('TIME'); local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local out = {}
local seen = redis.call('HGETALL', KEYS[1])
for i = 1, #seen, 2 do
  local tenant = seen[i]
  local rate, burst = string.match(seen[i + 1], '([^ ]+) ([^ ]+)')
  rate, burst = tonumber(rate), tonumber(burst)
  local prefix = 'oms:admission:{' .. tenant .. '}:'
  local held = redis.call('ZCOUNT', prefix .. 'in_flight', '(' .. now, '+inf')
  local tat = tonumber(redis.call('GET', prefix .. 'bucket'))
  if held == 0 and tat == nil then
    redis.call('HDEL', KEYS[1], tenant)
  else
    if tat == nil or tat < now then tat = now end
    table.insert(out, tenant); table.insert(out, tostring(held))
    table.insert(out, tostring(math.max(0, burst - (tat - now) * rate)))
  end
end
return out
"""
SEEN_KEY = "oms:admission:tenants"
SERVED_KEY = "oms:admission:served"


class RedisStore:
    """The same rules on Redis: every app server that names the same Redis shares one budget."""

    def __init__(self, url: str, lease_seconds: float = 60.0, timeout: float = 0.25) -> None:
        import redis  # only where Redis is configured

        self.client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self.lease_seconds = lease_seconds
        self._admit = self.client.register_script(ADMIT_LUA)
        self._spend = self.client.register_script(SPEND_LUA)
        self._release = self.client.register_script(RELEASE_LUA)
        self._usage = self.client.register_script(USAGE_LUA)

    @staticmethod
    def _keys(tenant_id: str, caller: str) -> list[str]:
        prefix = f"oms:admission:{{{tenant_id}}}:"
        return [prefix + "in_flight", prefix + "bucket", prefix + "caller:" + caller, SEEN_KEY, SERVED_KEY]

    @staticmethod
    def _verdict(answer: Sequence[bytes | str | int | float]) -> Verdict:
        reason, wait, tenant_left, caller_left, held = (
            part.decode() if isinstance(part, bytes) else str(part) for part in answer
        )
        return Verdict(not reason, reason or None, float(wait), float(tenant_left), float(caller_left), int(held))

    def admit(
        self, tenant_id: str, caller: str, lease: str, limits: Limits, capacity: int, window: float = ACTIVE_WINDOW
    ) -> Verdict:
        return self._verdict(
            self._admit(
                keys=self._keys(tenant_id, caller),
                args=[
                    lease,
                    self.lease_seconds,
                    limits.max_in_flight(capacity),
                    limits.rate,
                    limits.burst,
                    limits.token_rate,
                    limits.token_burst,
                    tenant_id,
                    max(1, capacity),
                    window,
                ],
            )
        )

    def spend(self, tenant_id: str, caller: str, cost: float, limits: Limits) -> Verdict:
        if cost <= 0:
            return Verdict(True)
        return self._verdict(
            self._spend(
                keys=self._keys(tenant_id, caller)[:3],
                args=[cost, limits.rate, limits.burst, limits.token_rate, limits.token_burst],
            )
        )

    def release(self, tenant_id: str, caller: str, lease: str, adjust: float, limits: Limits) -> Verdict:
        return self._verdict(
            self._release(
                keys=self._keys(tenant_id, caller)[:3],
                args=[lease, adjust, limits.rate, limits.burst, limits.token_rate, limits.token_burst],
            )
        )

    def usage(self) -> list[Usage]:
        answer = [part.decode() for part in self._usage(keys=[SEEN_KEY])]
        usage = [Usage(answer[i], int(answer[i + 1]), float(answer[i + 2])) for i in range(0, len(answer), 3)]
        return sorted(usage, key=lambda u: u.tenant_id)
