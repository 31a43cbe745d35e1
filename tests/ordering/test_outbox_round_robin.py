"""The relay's fair-share rule over the outbox feed (ordering/application/outbox.py), without
Django: each batch serves the tenants with events waiting in turn, an equal quota each."""

from __future__ import annotations

from ordering.application.outbox import RoundRobin, Stage, quota


class Waiting:
    """A feed whose tenants with events waiting are a fixed list, asked for as the port says."""

    def __init__(self, tenants: list[str]) -> None:
        self.tenants = sorted(tenants)
        self.asked: list[tuple[Stage, str, int]] = []

    def tenants_waiting(self, stage: Stage, after: str, limit: int) -> list[str]:
        self.asked.append((stage, after, limit))
        return [t for t in self.tenants if t > after][:limit]


def test_each_batch_starts_after_the_tenant_the_previous_one_served_last_and_wraps_around():
    feed = Waiting(["a", "b", "c", "d", "e"])
    turns = RoundRobin(feed, "fan_out", limit=2)
    assert [turns.next_tenants() for _ in range(4)] == [["a", "b"], ["c", "d"], ["e", "a"], ["b", "c"]]
    assert feed.asked[:3] == [("fan_out", "", 2), ("fan_out", "b", 2), ("fan_out", "d", 2)]


def test_a_tenant_alone_is_served_every_batch_and_nobody_waiting_means_no_batch():
    feed = Waiting(["only"])
    turns = RoundRobin(feed, "stream")
    assert turns.next_tenants() == turns.next_tenants() == ["only"]
    feed.tenants = []
    assert turns.next_tenants() == []


def test_a_batch_is_split_equally_rounded_up_and_each_tenant_gets_at_least_one():
    assert quota(500, ["a", "b", "c"]) == 167
    assert quota(10, ["a", "b"]) == 5
    assert quota(2, ["a", "b", "c"]) == 1
