"""The admission stores on real state: SQLite in memory and in a file shared by processes, and a
real Redis shared by processes; both give the same answers, and a store that fails admits."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from oms_project.kernel.admission import Admission
from oms_project.kernel.admission.rules import OVER_SHARE, RATE_LIMITED, Limits
from oms_project.kernel.admission.stores import LocalStore, MemoryStore, RedisStore

LIMITS = Limits(share=0.5, rate=100, burst=50, token_rate=100, token_burst=20)
SLOW = "Limits(share=0.5, rate=0.001, burst=50, token_rate=0.001, token_burst=20)"  # no refill during a test


@pytest.fixture(params=["memory", "sqlite-memory", "file", "redis"])
def store(request, tmp_path):
    if request.param == "memory":
        return MemoryStore()
    if request.param == "sqlite-memory":
        return LocalStore(None)
    if request.param == "file":
        return LocalStore(str(tmp_path / "admission.sqlite3"))
    return RedisStore(request.getfixturevalue("redis_store_url"))


def test_a_tenant_holds_at_most_its_slots_and_a_released_slot_is_free_again(store):
    assert store.admit("t2", "c1", "other", LIMITS, 4).admitted  # t2 is being served: t1 gets its share
    assert [store.admit("t1", f"c{i}", f"lease-{i}", LIMITS, 4).admitted for i in range(2)] == [True, True]
    refused = store.admit("t1", "c9", "lease-9", LIMITS, 4)  # half of 4
    assert (refused.admitted, refused.reason, refused.in_flight) == (False, OVER_SHARE, 2)
    assert store.admit("t2", "c2", "other-2", LIMITS, 4).admitted  # another tenant's slots are its own
    store.release("t1", "c0", "lease-0", 0, LIMITS)
    assert store.admit("t1", "c9", "lease-9", LIMITS, 4).admitted


@pytest.mark.parametrize("kind", [MemoryStore, LocalStore])
def test_alone_a_tenant_may_use_the_whole_capacity(kind):
    """Work-conserving: the share applies while another tenant was served in the last window."""
    clock = [1000.0]
    store = kind(clock=lambda: clock[0])
    assert all(store.admit("t1", "c", f"l{i}", LIMITS, 4, window=2).admitted for i in range(4))
    assert store.admit("t1", "c", "l5", LIMITS, 4, window=2).reason == OVER_SHARE  # the capacity itself
    for i in range(4):
        store.release("t1", "c", f"l{i}", 0, LIMITS)
    assert store.admit("t2", "c", "theirs", LIMITS, 4, window=2).admitted
    assert [store.admit("t1", "c", f"m{i}", LIMITS, 4, window=2).admitted for i in range(3)] == [True, True, False]
    clock[0] += 2.5  # t2 not served for longer than the window: t1 is alone again
    assert store.admit("t1", "c", "m9", LIMITS, 4, window=2).admitted


def test_the_caller_bucket_then_the_tenant_bucket_refuse_and_spend_nothing(store):
    admitted = store.admit("t1", "alice", "a", LIMITS, 10)
    assert admitted.admitted and admitted.tenant_remaining == pytest.approx(49.5, abs=0.5)  # refill stops at 50
    assert store.spend("t1", "alice", 19, LIMITS).admitted  # alice's 20 points are spent
    refused = store.spend("t1", "alice", 5, LIMITS)
    assert (refused.admitted, refused.reason) == (False, RATE_LIMITED)
    assert refused.retry_after == pytest.approx(0.05, abs=0.02)  # 5 points at 100 a second
    assert store.spend("t1", "bob", 19, LIMITS).admitted  # bob has his own bucket
    tenant_short = store.spend("t1", "carol", 19, LIMITS)  # the tenant has 11 left
    assert (tenant_short.admitted, tenant_short.reason) == (False, RATE_LIMITED)
    assert store.spend("t1", "carol", 10, LIMITS).admitted  # the refusal took nothing


def test_release_gives_back_what_the_request_did_not_use(store):
    slow = eval(SLOW)  # the arithmetic, without refill however loaded the machine
    store.admit("t1", "alice", "a", slow, 10)
    store.spend("t1", "alice", 15, slow)
    released = store.release("t1", "alice", "a", 10, slow)
    assert released.tenant_remaining == pytest.approx(44, abs=0.5)
    assert released.caller_remaining == pytest.approx(14, abs=0.5)


def test_release_charges_what_a_request_still_owes_even_into_debt(store):
    slow = eval(SLOW)
    store.admit("t1", "alice", "a", slow, 10)
    owed = store.release("t1", "alice", "a", -15, slow)  # admitted for 1, cost 16 in all
    assert owed.tenant_remaining == pytest.approx(34, abs=0.5) and owed.caller_remaining == pytest.approx(4, abs=0.5)
    store.admit("t1", "bob", "b", slow, 10)
    deep = store.release("t1", "bob", "b", -60, slow)  # more than the tenant's bucket holds
    assert deep.tenant_remaining == 0
    after = store.admit("t1", "carol", "c", slow, 10)
    assert (after.reason, after.retry_after > 0.2) == (RATE_LIMITED, True)  # the debt is paid off first


def test_usage_lists_each_tenants_requests_in_progress_and_points_left(store):
    slow = eval(SLOW)  # no refill between the admissions and the reading, however loaded the machine
    store.admit("t1", "alice", "a", slow, 10)
    store.admit("t1", "bob", "b", slow, 10)
    store.admit("t2", "carol", "c", slow, 10)
    store.release("t2", "carol", "c", 0, slow)
    usage = {u.tenant_id: u for u in store.usage()}
    assert usage["t1"].in_flight == 2 and usage["t1"].remaining == pytest.approx(48, abs=0.5)
    assert usage["t2"].in_flight == 0 and usage["t2"].remaining == pytest.approx(49, abs=0.5)


@pytest.mark.parametrize("kind", [MemoryStore, LocalStore])
def test_an_expired_lease_gives_its_slot_back_by_itself(kind):
    clock = [1000.0]
    store = kind(lease_seconds=30, clock=lambda: clock[0])
    assert store.admit("t1", "c", "held", LIMITS, 1).admitted
    assert store.admit("t1", "c", "next", LIMITS, 1).reason == OVER_SHARE
    clock[0] += 31  # the worker that held it died mid-request
    assert store.admit("t1", "c", "next", LIMITS, 1).admitted


def test_a_dead_workers_leases_are_dropped_at_once(tmp_path):
    path = str(tmp_path / "admission.sqlite3")
    _hold_in_another_process(f"LocalStore({path!r})", slots=2)
    store, slow = LocalStore(path), eval(SLOW)
    assert store.admit("t1", "c", "mine", slow, 2).reason == OVER_SHARE
    assert store.forget_process(_last_child_pid[0]) == 2
    assert store.admit("t1", "c", "mine", slow, 2).admitted


_last_child_pid = [0]


def _hold_in_another_process(store_expression: str, slots: int) -> None:
    """Another process admits `slots` requests of tenant t1 into the same store and exits
    without releasing them (a worker still serving them, as far as the store knows)."""
    script = textwrap.dedent(f"""
        import os
        from oms_project.kernel.admission.rules import Limits
        from oms_project.kernel.admission.stores import LocalStore, MemoryStore, RedisStore
        store = {store_expression}
        limits = {SLOW}
        for i in range({slots}):
            assert store.admit("t1", "other", f"theirs-{{i}}", limits, 10).admitted
        print(os.getpid())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    _last_child_pid[0] = int(done.stdout.strip())


@pytest.mark.parametrize("kind", ["file", "redis"])
def test_two_processes_share_one_budget(kind, tmp_path, request):
    if kind == "file":
        expression, store = (
            f"LocalStore({str(tmp_path / 'shared.sqlite3')!r})",
            LocalStore(str(tmp_path / "shared.sqlite3")),
        )
    else:
        url = request.getfixturevalue("redis_store_url")
        expression, store = f"RedisStore({url!r})", RedisStore(url)
    _hold_in_another_process(expression, slots=2)
    slow = eval(SLOW)
    refused = store.admit("t1", "mine", "mine", slow, 2)
    assert (refused.reason, refused.in_flight) == (OVER_SHARE, 2)
    # ... and the points the other process spent are gone here too.
    assert store.admit("t1", "mine", "mine", slow, 3).tenant_remaining == pytest.approx(47, abs=0.01)


def test_a_store_that_fails_admits_and_is_counted(caplog):
    from oms_project.kernel.metrics import ADMISSION_STORE_ERRORS

    before = ADMISSION_STORE_ERRORS._value.get()
    down = RedisStore("redis://127.0.0.1:1/0", timeout=0.2)  # nothing listens on port 1
    admission = Admission(down, capacity=4, limits_of=lambda tenant: LIMITS)
    ticket = admission.admit("t1", "alice", cost=5)
    assert ticket.admitted and ticket.admission is None and ticket.headers() == {}
    assert ticket.spend(50).admitted
    ticket.release(3)
    assert ADMISSION_STORE_ERRORS._value.get() == before + 1
    assert any("admission store unavailable" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("kind", [MemoryStore, LocalStore])
def test_local_and_redis_give_the_same_answers(redis_store_url, kind):
    """One sequence of steps through both stores: the same admissions and refusals."""
    local, remote = kind(), RedisStore(redis_store_url)
    limits = Limits(share=0.5, rate=1, burst=30, token_rate=1, token_burst=12)
    steps = [
        ("admit", "t1", "a", "l1"),
        ("spend", "t1", "a", 8),
        ("spend", "t1", "a", 8),
        ("admit", "t1", "b", "l2"),
        ("admit", "t1", "c", "l3"),
        ("release", "t1", "a", "l1", 4),
        ("admit", "t1", "c", "l3"),
        ("spend", "t1", "b", 11),
        ("spend", "t1", "c", 11),
        ("spend", "t1", "c", 4),
        ("admit", "t2", "a", "l4"),
    ]

    def run(store):
        answers = []
        for step in steps:
            if step[0] == "admit":
                verdict = store.admit(step[1], step[2], step[3], limits, 2)
            elif step[0] == "spend":
                verdict = store.spend(step[1], step[2], step[3], limits)
            else:
                verdict = store.release(step[1], step[2], step[3], step[4], limits)
            answers.append((verdict.admitted, verdict.reason, round(verdict.tenant_remaining)))
        return answers

    assert run(local) == run(remote)
