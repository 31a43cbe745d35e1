"""Every outbox event on the NATS JetStream stream (docs/events.md, "The event stream"): subjects
and headers, exactly once and in order per order, through NATS restarts and a relay killed
between publish and mark; `tail_events`; and the stream lag on /metrics."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from unittest.mock import ANY

import pytest
from django.core.management import call_command
from django.db import connection

from ordering.infrastructure.models import OutboxEvent
from tests.ordering.conftest import Shop, seed_catalog
from tests.ordering.test_customer_erasure import EMAIL, ERASED, delivered, erase, rows_holding
from webhooks.application.stream import StreamPublisher, StreamUnavailable
from webhooks.domain.stream import StreamMessage, filter_subject, subject_for
from webhooks.infrastructure.stream import NatsEventStream, OrmUnpublishedEvents

from ..conftest import database_url_for_subprocesses, requires_postgres
from .nats import nats_or_skip, stream_messages

ROOT = Path(__file__).resolve().parents[2]
TYPES = ["order.created", "order.placed", "order.status_changed", "order.confirmed", "order.shipped"]


# -- the rules, without Django or NATS ------------------------------------------------------------


def test_subjects_name_the_tenant_and_the_event():
    assert subject_for("acme", "order.placed") == "oms.acme.orders.placed"
    assert subject_for("acme", "order.status_changed") == "oms.acme.orders.status_changed"
    assert filter_subject() == "oms.*.orders.>"
    assert filter_subject("acme") == "oms.acme.orders.>"
    assert filter_subject(None, "placed") == filter_subject(None, "order.placed") == "oms.*.orders.placed"


def test_a_message_carries_its_event_id_for_the_duplicate_window():
    assert StreamMessage(1, "e1", "t", "order.placed", b"{}").headers == {
        "Nats-Msg-Id": "e1",
        "Content-Type": "application/json",
        "Oms-Event-Type": "order.placed",
        "Oms-Tenant-Id": "t",
    }


def test_a_batch_holds_the_first_waiting_event_of_each_order_whole(tenant, other_tenant):
    """The publisher's batch (the outbox feed's first_per_order, one statement on PostgreSQL):
    never two events of one order, each order's oldest unpublished one, in outbox order."""
    a, b, c = (uuid.uuid4() for _ in range(3))
    now = datetime.now(UTC)
    rows = OutboxEvent.objects.bulk_create(
        OutboxEvent(
            tenant_id=tenant.id,
            type="order.placed",
            aggregate_id=order,
            sequence=n,
            occurred_at=now,
            data={"n": n},
            correlation_id="req-1",
        )
        for order, n in [(a, 1), (b, 1), (a, 2), (c, 1), (b, 2), (a, 3)]
    )
    OutboxEvent.objects.filter(pk=rows[0].pk).update(published_at=now)  # a's first is out
    write_events(other_tenant.id, orders=1, per_order=1)
    events = OrmUnpublishedEvents()

    def batch(limit: int) -> list[tuple[str, str, int]]:
        with events.next_batch(limit) as chosen:
            bodies = [json.loads(m.body) for m in chosen.messages]
        return [(m["tenant_id"], m["aggregate_id"], m["sequence"]) for m in bodies]

    assert batch(10) == [
        (tenant.id, str(b), 1),
        (tenant.id, str(a), 2),
        (tenant.id, str(c), 1),
        (other_tenant.id, ANY, 1),
    ]
    assert batch(4)[:2] == [(tenant.id, str(b), 1), (tenant.id, str(a), 2)]  # two per tenant, oldest first
    with events.next_batch(10) as chosen:
        first = chosen.messages[0]
    assert (first.event_id, first.tenant_id, first.event_type) == (str(rows[1].event_id), tenant.id, "order.placed")
    assert json.loads(first.body)["data"] == {"n": 1} and json.loads(first.body)["correlation_id"] == "req-1"
    events.close()


def test_a_flapping_connection_is_logged_at_most_once_an_interval(caplog):
    from oms_project.kernel.nats_connection import ConnectionLog

    now = [100.0]
    log = ConnectionLog("nats://n:4222", "relay", interval=30, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="oms_project.kernel.nats_connection"):
        log.disconnected()
        now[0] += 5
        log.reconnected()
        for _ in range(3):  # three more drops within the interval: counted, not logged
            now[0] += 1
            log.disconnected()
            now[0] += 1
            log.reconnected()
        now[0] += 30
        log.disconnected()
    assert [r.getMessage() for r in caplog.records] == [
        "nats: relay lost its connection to nats://n:4222; reconnecting every 0.5 s",
        "nats: relay reconnected to nats://n:4222 after 5.0 s down",
        "nats: relay lost its connection to nats://n:4222; reconnecting every 0.5 s"
        " (3 more drop(s) since the last line)",
    ]
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO", "WARNING"]


# -- against a real nats-server -------------------------------------------------------------------


@pytest.fixture
def nats_server(tmp_path, settings):
    server = nats_or_skip(tmp_path)
    settings.OMS_EVENT_STREAM_URL = server.url
    yield server
    server.stop()


def write_events(tenant_id: str, orders: int, per_order: int = 5) -> list[OutboxEvent]:
    now = datetime.now(UTC)
    rows = [
        OutboxEvent(
            tenant_id=tenant_id,
            type=TYPES[seq % len(TYPES)],
            aggregate_id=order_id,
            sequence=seq + 1,
            occurred_at=now,
            data={"order": {"id": str(order_id)}},
        )
        for order_id in (uuid.uuid4() for _ in range(orders))
        for seq in range(per_order)
    ]
    return OutboxEvent.objects.bulk_create(rows)


def publisher(batch: int = 1000) -> StreamPublisher:
    stream = NatsEventStream.from_settings()
    stream.ensure_stream()
    return StreamPublisher(OrmUnpublishedEvents(), stream, batch_size=batch)


def ours(messages: list[dict]) -> list[dict]:
    """The messages of events in this test's outbox (a shared server may hold older ones)."""
    ids = {str(i) for i in OutboxEvent.objects.values_list("event_id", flat=True)}
    return [m for m in messages if m["event"]["id"] in ids]


def assert_exactly_once_in_order(messages: list[dict]) -> None:
    expected = {str(i) for i in OutboxEvent.objects.values_list("event_id", flat=True)}
    counts = Counter(m["event"]["id"] for m in messages)
    assert set(counts) == expected, f"{len(expected - set(counts))} event(s) missing from the stream"
    assert max(counts.values()) == 1, "an event is in the stream twice"
    by_order: dict[str, list[int]] = {}
    for m in messages:
        by_order.setdefault(m["event"]["aggregate_id"], []).append(m["event"]["sequence"])
    assert all(seqs == sorted(seqs) for seqs in by_order.values()), "an order's events are out of order"
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 0


def test_every_event_is_published_once_with_its_subject_and_headers(nats_server, tenant):
    write_events(tenant.id, orders=30)
    work = publisher(batch=7)
    assert work.publish_once() == 150
    assert work.publish_once() == 0
    work.stream.close()
    messages = ours(stream_messages(nats_server.url, "OMS_ORDERS"))
    assert_exactly_once_in_order(messages)
    first = next(m for m in messages if m["event"]["type"] == "order.placed")
    assert first["subject"] == f"oms.{tenant.id}.orders.placed"
    assert first["headers"] == {
        "Nats-Msg-Id": first["event"]["id"],
        "Content-Type": "application/json",
        "Oms-Event-Type": "order.placed",
        "Oms-Tenant-Id": tenant.id,
    }
    assert set(first["event"]) >= {"id", "type", "occurred_at", "tenant_id", "aggregate_id", "sequence", "data"}


def test_the_stream_is_created_with_its_subjects_retention_and_duplicate_window(nats_server, tenant, settings):
    import asyncio

    import nats

    settings.OMS_EVENT_STREAM_MAX_AGE_DAYS = 2
    publisher().stream.close()
    publisher().stream.close()  # a second start updates the same stream

    async def info():
        nc = await nats.connect(nats_server.url)
        try:
            return (await nc.jetstream().stream_info("OMS_ORDERS")).config
        finally:
            await nc.close()

    config = asyncio.run(info())
    assert config.subjects == ["oms.*.orders.>"] and getattr(config.storage, "value", config.storage) == "file"
    assert config.duplicate_window >= 120 and config.max_age == 2 * 86400


def test_a_republish_after_a_crash_between_publish_and_mark_is_dropped(nats_server, tenant):
    """What a crash leaves: events acknowledged by the stream but not marked. The next publisher
    sends them again; the server drops them by Nats-Msg-Id."""
    write_events(tenant.id, orders=10)
    stream = NatsEventStream.from_settings()
    stream.ensure_stream()
    with OrmUnpublishedEvents().next_batch(1000) as batch:
        assert len(stream.publish(batch.messages)) == 10  # acknowledged, never marked
    stream.close()
    work = publisher()
    assert work.publish_once() == 50
    work.stream.close()
    assert_exactly_once_in_order(ours(stream_messages(nats_server.url, "OMS_ORDERS")))


def test_nats_down_events_wait_in_the_outbox_then_go_out(nats_server, tenant):
    from webhooks.application.stream import StreamUnavailable

    if not nats_server.restartable:
        pytest.skip("the shared NATS server is never stopped")
    nats_server.stop()
    write_events(tenant.id, orders=5)
    stream = NatsEventStream.from_settings()
    stream.connect_seconds = 1.0  # each attempt while the server is down gives up sooner
    work = StreamPublisher(OrmUnpublishedEvents(), stream, max_backoff_seconds=0.5)
    with pytest.raises(StreamUnavailable):
        work.publish_once()
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 25  # nothing lost, nothing marked
    threading.Timer(0.5, nats_server.start).start()  # back in a second, while the publisher retries
    deadline = time.monotonic() + 30
    try:
        work.run_forever(
            lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists() or time.monotonic() > deadline,
            0.1,
        )
    finally:
        work.stream.close()
    assert_exactly_once_in_order(ours(stream_messages(nats_server.url, "OMS_ORDERS")))


def metric(client, name: str) -> float:
    text = client.get("/metrics").content.decode()
    return float(next(line for line in text.splitlines() if line.startswith(name)).split()[-1])


def test_operators_see_the_stream_drop_and_come_back(nats_server, tenant, client, caplog):
    """A warning when the relay's NATS connection drops, an info line when it is back, and
    `/metrics` says meanwhile that the stream is down and how many events wait for it."""
    if not nats_server.restartable:
        pytest.skip("the shared NATS server is never stopped")
    stream = NatsEventStream.from_settings()
    stream.ack_timeout = 1.0
    work = StreamPublisher(OrmUnpublishedEvents(), stream, max_backoff_seconds=0.2)
    stream.ensure_stream()
    assert metric(client, 'oms_stream_connected{client="relay"}') == 1
    nats_server.stop()
    write_events(tenant.id, orders=4)
    with caplog.at_level(logging.INFO, logger="oms_project.kernel.nats_connection"):
        with pytest.raises(StreamUnavailable):
            work.publish_once()  # the client notices the drop while it waits for acknowledgements
        assert metric(client, 'oms_stream_connected{client="relay"}') == 0
        assert metric(client, "oms_stream_events_waiting") == 20
        assert metric(client, f'oms_relay_backlog_by_tenant{{stage="stream",tenant="{tenant.id}"}}') == 20
        nats_server.start()
        deadline = time.monotonic() + 30
        try:
            work.run_forever(
                lambda: (
                    not OutboxEvent.objects.filter(published_at__isnull=True).exists() or time.monotonic() > deadline
                ),
                0.1,
            )
        finally:
            stream.close()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "oms_project.kernel.nats_connection"]
    assert [level for level, _ in lines][:2] == ["WARNING", "INFO"], lines
    assert "relay lost its connection to " + nats_server.url in lines[0][1]
    assert "relay reconnected to " + nats_server.url in lines[1][1] and " s down" in lines[1][1]
    assert metric(client, "oms_stream_events_waiting") == 0
    assert_exactly_once_in_order(ours(stream_messages(nats_server.url, "OMS_ORDERS")))


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_nats_restarted_mid_publish_every_event_is_in_the_stream_once(nats_server, tenant):
    if not nats_server.restartable:
        pytest.skip("the shared NATS server is never stopped")
    write_events(tenant.id, orders=400)
    stop = threading.Event()
    work = StreamPublisher(
        OrmUnpublishedEvents(), NatsEventStream.from_settings(), batch_size=50, max_backoff_seconds=0.5
    )
    work.stream.ensure_stream()
    thread = threading.Thread(target=lambda: (work.run_forever(stop.is_set, 0.1), connection.close()))
    thread.start()
    try:
        while not OutboxEvent.objects.filter(published_at__isnull=False).exists():
            time.sleep(0.01)
        nats_server.stop()  # mid-publish: some batches are out, most are not
        assert OutboxEvent.objects.filter(published_at__isnull=True).exists()
        time.sleep(1)
        nats_server.start()
        deadline = time.monotonic() + 60
        while OutboxEvent.objects.filter(published_at__isnull=True).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(30)
        work.stream.close()
    assert_exactly_once_in_order(ours(stream_messages(nats_server.url, "OMS_ORDERS")))


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_relay_killed_while_publishing_leaves_no_duplicate_in_the_stream(nats_server, tenant):
    """A real `relay_events` process, killed with SIGKILL while it publishes; another one finishes.
    Whatever was acknowledged and not yet marked is sent again and dropped by Nats-Msg-Id."""
    write_events(tenant.id, orders=1500)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oms_project.settings_test",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url_for_subprocesses(),
        "OMS_EVENT_STREAM_URL": nats_server.url,
        "OMS_EVENT_STREAM_BATCH": "100",
    }
    first = subprocess.Popen(
        [sys.executable, "manage.py", "relay_events", "--poll-seconds", "0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not OutboxEvent.objects.filter(published_at__isnull=False).exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert OutboxEvent.objects.filter(published_at__isnull=True).exists(), "killed before it finished"
    second = subprocess.run(
        [sys.executable, "manage.py", "relay_events", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    assert_exactly_once_in_order(ours(stream_messages(nats_server.url, "OMS_ORDERS")))


def test_tail_events_prints_what_consumers_see(nats_server, tenant, other_tenant):
    write_events(tenant.id, orders=2)
    write_events(other_tenant.id, orders=1)
    publisher().publish_once()
    out = io.StringIO()
    call_command(
        "tail_events", "--tenant", tenant.id, "--type", "placed", "--from-start", "--idle-seconds", "1", stdout=out
    )
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 2 and {e["type"] for e in lines} == {"order.placed"}
    assert {e["tenant_id"] for e in lines} == {tenant.id} and all(e["stream_sequence"] > 0 for e in lines)
    out = io.StringIO()
    call_command("tail_events", "--since", "10m", "--max", "3", "--idle-seconds", "1", stdout=out)
    assert len(out.getvalue().splitlines()) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["--since", "ten minutes"], "not a duration"),
        (["--tenant", "a b"], "not a tenant id"),
        (["--type", "PLACED!"], "not an event type"),
    ],
)
def test_tail_events_refuses_bad_options(settings, args, message):
    from django.core.management.base import CommandError

    settings.OMS_EVENT_STREAM_URL = "nats://127.0.0.1:1"
    with pytest.raises(CommandError, match=message):
        call_command("tail_events", *args, stdout=io.StringIO())


def test_tail_events_without_a_stream_says_so(settings):
    from django.core.management.base import CommandError

    settings.OMS_EVENT_STREAM_URL = ""
    with pytest.raises(CommandError, match="no event stream"):
        call_command("tail_events", stdout=io.StringIO())


def test_metrics_show_the_stream_lag(client, tenant, settings):
    settings.OMS_EVENT_STREAM_URL = "nats://127.0.0.1:1"
    OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(
                tenant_id=tenant.id,
                type="order.placed",
                aggregate_id=uuid.uuid4(),
                sequence=1,
                data={},
                occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        ]
    )
    text = client.get("/metrics").content.decode()
    line = next(line for line in text.splitlines() if line.startswith('oms_relay_lag_seconds{stage="stream"}'))
    assert float(line.split()[-1]) > 86400


def test_the_publisher_thread_outlives_a_database_error():
    """A deadlock with the fan-out, or a restart, must not end publishing for good: the thread
    logs, waits a moment and publishes again."""
    import threading as _threading

    from django.db import OperationalError

    from webhooks.management.commands import relay_events

    stopping = _threading.Event()
    calls = []

    class Part:
        def ensure_stream(self):
            pass

        def close(self):
            calls.append("closed")

    class Publisher:
        stream, events = Part(), Part()

        def run_forever(self, should_stop, poll):
            calls.append("run")
            if calls.count("run") == 1:
                raise OperationalError("deadlock detected")
            stopping.set()

    relay_events.PUBLISHER_RETRY_SECONDS, saved = 0.01, relay_events.PUBLISHER_RETRY_SECONDS
    try:
        relay_events.Command._publish_forever(Publisher(), stopping, 0.01)
    finally:
        relay_events.PUBLISHER_RETRY_SECONDS = saved
    assert calls == ["run", "run", "closed", "closed"]


def test_an_erasure_deletes_the_orders_earlier_messages_from_the_stream(nats_server, gql, tenant):
    """The customer's orders were published with their personal data; once erased, the relay's
    publisher, sending `customer.erased`, deletes those messages (docs/privacy.md); then neither
    the stream nor any table of the database holds an erased value (on PostgreSQL in CI's
    PostgreSQL pass, with a real nats-server)."""
    seed_catalog(tenant.id)
    shop = Shop(gql, tenant)
    order = delivered(shop)
    work = publisher()
    assert work.publish_once() > 0
    before = ours(stream_messages(nats_server.url, "OMS_ORDERS", subject=filter_subject(tenant.id)))
    assert any(EMAIL in json.dumps(m) for m in before)
    sequences = set(OutboxEvent.objects.filter(aggregate_id=order["id"]).values_list("stream_sequence", flat=True))
    assert None not in sequences and len(sequences) == len(before)

    assert erase(shop)["erasure"]["orderIds"] == [order["id"]]
    assert work.publish_once() == 1  # customer.erased
    work.stream.close()

    after = ours(stream_messages(nats_server.url, "OMS_ORDERS", subject=filter_subject(tenant.id)))
    assert [m["event"]["type"] for m in after] == ["customer.erased"]
    assert after[0]["event"]["data"]["order_ids"] == [order["id"]]
    assert not any(value.lower() in json.dumps(m).lower() for m in after for value in ERASED)
    assert rows_holding(ERASED) == {}  # and no row of the database
