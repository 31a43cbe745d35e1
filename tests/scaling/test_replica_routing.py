"""Replica routing without replicas, and its parts (both databases; the real replica is in
test_read_replicas.py)."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

from oms_project.kernel import replicas
from oms_project.kernel.prepared import READING_FROM


def test_wal_positions_parse_and_compare():
    assert replicas.lsn_value("0/3000060") == 0x3000060
    assert replicas.lsn_value("16/B374D848") > replicas.lsn_value("16/B374D847") > replicas.lsn_value("15/FFFFFFFF")
    for bad in (None, "", "16", "x/y", "16/B374D848/1", "1" * 9 + "/0", "0/3000060; DROP"):
        assert replicas.lsn_value(bad) is None


def test_without_replicas_every_read_is_the_primarys_and_no_position_is_taken(db):
    with replicas.reading("someone", "0/1") as alias:
        assert alias == DEFAULT_DB_ALIAS and READING_FROM.get() == DEFAULT_DB_ALIAS
    assert replicas.written("someone") is None
    assert replicas.ReplicaRouter().allow_migrate("replica_0", "ordering") is False
    assert replicas.ReplicaRouter().allow_migrate(DEFAULT_DB_ALIAS, "ordering") is True


def test_a_mutation_answers_no_read_position_without_replicas_and_a_bad_one_is_ignored(shop, gql):
    draft = shop.draft()
    response = gql.post(
        "mutation($id: ID!) { placeOrder(orderId: $id) { errors { code } } }", {"id": draft["id"]}, token=shop.customer
    )
    assert response.status_code == 200 and replicas.HEADER not in response
    response = gql._client.post(
        "/graphql/",
        {"query": "{ me { userId } }"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {shop.customer}",
        HTTP_X_READ_AFTER="not-a-position",
    )
    assert response.status_code == 200 and response.json()["data"]["me"]["userId"] == "cust-1"
