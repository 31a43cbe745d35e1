"""Subscription URLs cannot reach the private network (docs/admin.md, "Subscription URLs"):
checked when a subscription is saved (admin, `manage.py subscriptions`) and again when the relay
connects, against the address it actually connects to."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from identity.infrastructure.models import TenantStaffMember
from webhooks.domain.destinations import DestinationPolicy, DestinationRefused
from webhooks.infrastructure.models import WebhookDelivery, WebhookSubscription

from .receiver import Receiver
from .test_outbound_delivery import relay, shop, subscribe  # noqa: F401 (shop: a fixture)

PUBLIC = "93.184.216.34"
STRICT = DestinationPolicy()


def resolving_to(*addresses):
    return lambda host, port: list(addresses)


# -- the rules, without Django -------------------------------------------------------------------


def test_a_public_https_destination_is_allowed():
    assert STRICT.check_url("https://hooks.example.com/x", resolving_to(PUBLIC)) == "https://hooks.example.com/x"
    assert STRICT.check_url(
        "https://[2606:2800:220:1:248:1893:25c8:1946]/x", resolving_to("2606:2800:220:1:248:1893:25c8:1946")
    )


def test_plain_http_only_where_the_operator_allows_it():
    with pytest.raises(DestinationRefused, match="must be https"):
        STRICT.check_url("http://hooks.example.com/x", resolving_to(PUBLIC))
    DestinationPolicy(allow_http=True).check_url("http://hooks.example.com/x", resolving_to(PUBLIC))


@pytest.mark.parametrize(
    "address, kind",
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.7", "private"),
        ("172.16.3.4", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:10.1.2.3", "private"),
        ("100.64.0.1", "non-public"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_non_public_addresses_are_refused(address, kind):
    with pytest.raises(DestinationRefused, match=f"is a {kind} address"):
        STRICT.check_url("https://hooks.example.com/x", resolving_to(address))


def test_a_literal_address_in_the_url_is_judged_as_an_address():
    with pytest.raises(DestinationRefused, match="loopback"):
        STRICT.check_url("https://127.0.0.1:8443/x", resolving_to("127.0.0.1"))
    with pytest.raises(DestinationRefused, match="loopback"):
        STRICT.check_url("https://[::ffff:7f00:1]/x", resolving_to("::ffff:7f00:1"))


def test_every_address_of_the_host_must_be_allowed_and_the_host_must_resolve():
    with pytest.raises(DestinationRefused, match="private"):
        STRICT.check_url("https://hooks.example.com/x", resolving_to(PUBLIC, "10.0.0.1"))
    with pytest.raises(DestinationRefused, match="does not resolve"):
        STRICT.check_url("https://nowhere.invalid/x", resolving_to())


def test_listed_hosts_and_networks_are_allowed():
    policy = DestinationPolicy.from_entries(allow_http=True, entries=["fulfilment", "10.1.0.0/16", " 127.0.0.1 ", ""])
    assert policy.check_url("http://fulfilment:8080/hooks", resolving_to()) == "http://fulfilment:8080/hooks"
    policy.check_url("https://svc.internal/x", resolving_to("10.1.200.3"))
    policy.check_url("http://127.0.0.1:9000/x", resolving_to("127.0.0.1"))
    with pytest.raises(DestinationRefused, match="private"):
        policy.check_url("https://svc.internal/x", resolving_to("10.2.0.1"))


@pytest.mark.parametrize("url", ["ftp://x/", "", "https://", "javascript:alert(1)"])
def test_what_is_not_an_http_url_is_refused(url):
    with pytest.raises(DestinationRefused):
        STRICT.check_url(url, resolving_to(PUBLIC))


# -- at save time ------------------------------------------------------------------------------


@pytest.fixture
def strict(settings):
    settings.OMS_WEBHOOK_ALLOW_HTTP = False
    settings.OMS_WEBHOOK_ALLOWED_DESTINATIONS = []
    return settings


@pytest.mark.parametrize(
    "url, reason",
    [
        ("https://localhost/hooks", "loopback"),  # a host name that resolves to 127.0.0.1
        ("https://127.0.0.1/hooks", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://10.0.0.5/hooks", "private"),
        ("https://[::ffff:127.0.0.1]/hooks", "loopback"),
        ("http://93.184.216.34/hooks", "must be https"),
    ],
)
def test_the_subscriptions_command_refuses_private_destinations(strict, tenant, url, reason):
    with pytest.raises(CommandError, match=reason):
        call_command("subscriptions", tenant.id, "add", url, stdout=io.StringIO())
    assert WebhookSubscription.objects.count() == 0


def test_an_allowed_host_is_accepted_by_the_command(strict, tenant):
    strict.OMS_WEBHOOK_ALLOWED_DESTINATIONS = ["localhost"]
    call_command("subscriptions", tenant.id, "add", "https://localhost/hooks", stdout=io.StringIO())
    assert WebhookSubscription.objects.get().url == "https://localhost/hooks"


def test_the_admin_refuses_private_destinations_with_the_reason(strict, client, tenant):
    staff = User.objects.create_user("acme-staff", password="x", is_staff=True)
    TenantStaffMember.objects.create(user=staff, tenant=tenant)
    from identity.infrastructure.admin_staff import ensure_admin_groups

    staff.groups.add(ensure_admin_groups()[0])
    client.force_login(staff)
    add = reverse("admin:webhooks_webhooksubscription_add")
    for url, reason in [
        ("https://169.254.169.254/", b"link-local"),
        ("https://localhost/h", b"loopback"),
        ("http://93.184.216.34/h", b"must be https"),
    ]:
        response = client.post(add, {"tenant": tenant.id, "url": url, "active": "on"})
        assert response.status_code == 200 and reason in response.content
    assert WebhookSubscription.objects.count() == 0


# -- at send time --------------------------------------------------------------------------------


def test_the_relay_refuses_a_destination_that_is_no_longer_allowed(settings, shop):
    """Saved while 127.0.0.1 was allowed; the operator then removes it: the next send is refused
    before connecting, recorded with the reason, and the delivery is dead at once (not retried)."""
    receiver = Receiver(subscribe(shop.tenant.id, "http://127.0.0.1:9/"))
    WebhookSubscription.objects.update(url=receiver.url)
    try:
        shop.placed()
        settings.OMS_WEBHOOK_ALLOWED_DESTINATIONS = []
        relay().run_once()
    finally:
        receiver.stop()
    assert receiver.received == []
    deliveries = list(WebhookDelivery.objects.all())
    assert deliveries and all(d.status == "DEAD" and d.attempts == 1 for d in deliveries)
    assert all(d.last_error.startswith("destination refused: 127.0.0.1 is a loopback address") for d in deliveries)


def test_the_relay_checks_the_address_it_connects_to_when_dns_changes(settings, shop, monkeypatch):
    """The host resolved to a public address when the subscription was saved; by send time it
    resolves to the metadata address: refused."""
    from webhooks.infrastructure import destinations

    settings.OMS_WEBHOOK_ALLOWED_DESTINATIONS = []
    monkeypatch.setattr(destinations, "resolve", lambda host, port: [PUBLIC])
    subscribe(shop.tenant.id, "http://rebinding.example/hooks")
    shop.placed()
    monkeypatch.setattr(destinations, "resolve", lambda host, port: ["169.254.169.254"])
    relay().run_once()
    delivery = WebhookDelivery.objects.first()
    assert delivery.status == "DEAD"
    assert "169.254.169.254 is a link-local address" in delivery.last_error


def test_a_host_name_resolved_to_an_allowed_address_is_delivered_to(shop):
    """`localhost` is not listed, but the address it resolves to (127.0.0.1) is: the relay
    resolves, checks and connects to that address, and the receiver gets every event."""
    receiver = Receiver(subscribe(shop.tenant.id, "http://127.0.0.1:9/"))
    WebhookSubscription.objects.update(url=receiver.url.replace("127.0.0.1", "localhost"))
    try:
        shop.placed()
        relay().run_once()
    finally:
        receiver.stop()
    assert len(receiver.received) == WebhookDelivery.objects.count() > 0
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"DELIVERED"}
