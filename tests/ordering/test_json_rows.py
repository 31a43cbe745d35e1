"""The write path's hand-written statements (`json_rows.py`, `write_batch.py`): every stored
column of every table they write is written, and a row goes through JSON both ways unchanged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import isolate_apps

from ordering.infrastructure import json_rows, models
from ordering.infrastructure.write_batch import WriteBatch, WriteConflict
from tests.conftest import requires_postgres

WRITTEN = (
    models.Order,
    models.OrderLine,
    models.OrderShipping,
    models.OrderCoupon,
    models.Shipment,
    models.OrderHistoryEntry,
    models.OutboxEvent,
)


def table_columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        return {c.name for c in connection.introspection.get_table_description(cursor, table)}


@pytest.mark.django_db
@pytest.mark.parametrize("model", WRITTEN, ids=lambda m: m.__name__)
def test_the_batch_writes_every_stored_column_the_table_has(model):
    """A column added to the table but not to the model, or a field type the JSON conversion does
    not know, fails here rather than being left out of the statements."""
    spec = json_rows.TableSpec.of(model)
    generated = {f.column for f in model._meta.concrete_fields if f.generated}
    assert {f.column for f in spec.fields} == table_columns(model._meta.db_table) - generated


@isolate_apps("ordering")
def test_a_field_type_without_a_conversion_is_refused_when_the_spec_is_built():
    from django.db.models import DurationField

    class Odd(models.models.Model):
        span = DurationField()

        class Meta:
            app_label = "ordering"
            managed = False

    with pytest.raises(TypeError, match="span"):
        json_rows.TableSpec.of(Odd)


@requires_postgres
@pytest.mark.django_db
def test_rows_written_and_read_back_as_json_keep_every_value(shop):
    """Decimals keep their scale, timestamps their microseconds and zone, uuids and JSON their
    values, through `jsonb_populate_recordset` and `to_jsonb`."""
    order = models.Order.objects.get(id=shop.draft()["id"])
    at = datetime(2026, 12, 1, 1, 2, 3, 456789, tzinfo=UTC)
    shipment = models.Shipment(
        id=uuid.uuid4(),
        tenant_id=order.tenant_id,
        order_id=order.id,
        position=0,
        vendor_id="vendor-é",
        status="SHIPPED",
        carrier='U"PS\\',
        tracking_number="1Z",
        shipped_at=at,
        created_at=at,
        updated_at=at,
        lines=[{"line_id": "x", "quantity": 2, "note": 'ünïcode "quoted"'}],
    )
    batch = WriteBatch()
    batch.insert(
        models.Shipment, [{f.attname: getattr(shipment, f.attname) for f in models.Shipment._meta.concrete_fields}]
    )
    batch.update(
        models.Order,
        {"tenant_id": order.tenant_id, "id": str(order.id)},
        {"payment_adjustment": Decimal("-1.2345"), "paid_at": at, "refunds": [{"amount": "1.50"}]},
        expect_one="order changed",
    )
    batch.flush()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_jsonb(s)::text FROM ordering_shipment AS s WHERE id = %s", [shipment.id])
        read = json_rows.row(models.Shipment, json_rows.loads(cursor.fetchone()[0]))
        cursor.execute("SELECT to_jsonb(o)::text FROM ordering_order AS o WHERE id = %s", [order.id])
        row = json_rows.row(models.Order, json_rows.loads(cursor.fetchone()[0]))
    assert [(f.attname, getattr(read, f.attname)) for f in models.Shipment._meta.concrete_fields] == [
        (f.attname, getattr(shipment, f.attname)) for f in models.Shipment._meta.concrete_fields
    ]
    assert (row.payment_adjustment, row.paid_at, row.refunds) == (Decimal("-1.2345"), at, [{"amount": "1.50"}])
    assert str(row.payment_adjustment) == "-1.2345" and row.paid_at.tzinfo is not None
    stored = models.Order.objects.get(id=order.id)
    assert [getattr(row, f.attname) for f in models.Order._meta.concrete_fields] == [
        getattr(stored, f.attname) for f in models.Order._meta.concrete_fields
    ]


@requires_postgres
@pytest.mark.django_db
def test_an_update_that_must_change_one_row_and_changes_none_fails_the_batch(shop):
    order = models.Order.objects.get(id=shop.draft()["id"])
    batch = WriteBatch()
    batch.update(
        models.Order,
        {"tenant_id": order.tenant_id, "id": str(order.id), "version": order.version + 5},
        {"hold_note": "never"},
        expect_one="stale",
    )
    batch.insert(
        models.OrderHistoryEntry,
        [
            dict(
                tenant_id=order.tenant_id,
                order_id=order.id,
                position=99,
                at=order.created_at,
                actor="t",
                from_status="",
                to_status="DRAFT",
                note="",
            )
        ],
    )
    with pytest.raises(WriteConflict, match="stale"):
        batch.flush()


@pytest.mark.django_db
def test_an_insert_fills_defaults_and_stamps_auto_now_add_fields(shop):
    """Rows are given as attname -> value: what they leave out is the model's default, as
    Django's own insert would make it, on both databases."""
    from django.utils import timezone as django_timezone

    order = models.Order.objects.get(id=shop.draft()["id"])
    started = django_timezone.now()
    batch = WriteBatch()
    batch.insert(
        models.OutboxEvent,
        [
            dict(
                tenant_id=order.tenant_id,
                type="t.one",
                aggregate_id=order.id,
                sequence=900 + n,
                data={"n": n},
                occurred_at=started,
                correlation_id="c",
            )
            for n in range(2)
        ],
    )
    batch.flush()
    rows = list(models.OutboxEvent.objects.filter(type="t.one").order_by("sequence"))
    assert [row.data for row in rows] == [{"n": 0}, {"n": 1}]
    assert rows[0].event_id != rows[1].event_id  # the default, one per row
    assert all(row.created_at >= started and row.dispatched_at is None for row in rows)


@requires_postgres
@pytest.mark.django_db
def test_a_number_drawn_in_the_batch_reaches_the_row_the_search_text_the_events_and_the_answer(shop):
    """On PostgreSQL the order number is drawn in the write batch's own statement (`late_value`):
    the placeholder the order carried until then is nowhere to be found afterwards."""
    from ordering.infrastructure.models import OrderNumberCounter, OutboxEvent

    OrderNumberCounter.objects.create(tenant_id=shop.tenant.id, last_number=41)
    placed = shop.ok("placeOrder", shop.customer, orderId=shop.draft()["id"])
    assert placed["number"] == "1042"
    row = models.Order.objects.get(id=placed["id"])
    assert row.number == "1042" and row.search_text.startswith("1042 ") and "late-" not in row.search_text
    events = OutboxEvent.objects.filter(aggregate_id=placed["id"], type__in=["order.placed", "order.status_changed"])
    assert [event.data["order"]["number"] for event in events] == ["1042", "1042"]
    assert OrderNumberCounter.objects.get(tenant_id=shop.tenant.id).last_number == 42


@requires_postgres
@pytest.mark.django_db
def test_a_late_value_is_drawn_at_once_when_a_batch_already_has_one():
    batch = WriteBatch()
    first = batch.late_value("SELECT 'a' AS value", (), lambda: "unused")
    assert first.startswith("late-")
    assert batch.late_value("SELECT 'b' AS value", (), lambda: "now") == "now"
    batch.flush()
    assert batch.drawn == {first: "a"}


@requires_postgres
@pytest.mark.django_db
def test_outbox_documents_are_compressed_with_lz4_where_the_server_has_it():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        available = cursor.fetchone()[0]
        cursor.execute(
            "SELECT attcompression FROM pg_attribute "
            "WHERE attrelid = 'ordering_outbox_event'::regclass AND attname = 'data'"
        )
        method = cursor.fetchone()[0]
    assert method == ("l" if available else "")
