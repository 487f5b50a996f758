"""The redirect policy as a pure decision: public -> internal refused, in every notation."""

from __future__ import annotations

import socket
from ipaddress import ip_address

import pytest

from wirewatch.transforms.config import FeedConfig
from wirewatch.transforms.ingest.addresses import (
    check_redirect,
    internal_kind,
    redirect_refusal,
    resolve_host,
)

PUBLIC = "93.184.216.34"  # only ever classified, never contacted
PUBLIC_2 = "2606:4700:4700::1111"


@pytest.mark.parametrize(
    "host, kind",
    [
        ("127.0.0.1", "loopback"),
        ("127.1", "loopback"),
        ("2130706433", "loopback"),
        ("0x7f000001", "loopback"),
        ("0177.0.0.1", "loopback"),
        ("[::1]", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("[::ffff:127.0.0.1]", "loopback"),
        ("localhost", "loopback"),
        ("169.254.169.254", "link-local"),
        ("[fe80::1]", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("[fd00::1]", "private"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("[::]", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
    ],
)
def test_a_public_feed_may_not_redirect_to_an_internal_address(host, kind):
    reason = check_redirect(PUBLIC, host)
    assert reason is not None
    assert host in reason and kind in reason and "allow_private" in reason
    assert internal_kind(resolve_host(host)[0]) == kind


@pytest.mark.parametrize("target", [PUBLIC, "8.8.8.8", f"[{PUBLIC_2}]"])
def test_public_to_public_is_allowed(target):
    assert check_redirect(PUBLIC, target) is None
    assert check_redirect(f"[{PUBLIC_2}]", target) is None


@pytest.mark.parametrize("source", ["127.0.0.1", "10.1.2.3", "localhost", "[::1]"])
@pytest.mark.parametrize("target", ["127.0.0.1", "10.0.0.1", "169.254.169.254", PUBLIC])
def test_an_internal_feed_may_redirect_anywhere(source, target):
    assert check_redirect(source, target) is None


@pytest.mark.parametrize("target", ["127.0.0.1", "2130706433", "169.254.169.254", "10.0.0.1"])
def test_allow_private_lets_a_public_feed_redirect_inside(target):
    assert check_redirect(PUBLIC, target, allow_private=True) is None


def test_one_internal_address_among_several_is_enough_to_refuse():
    mixed = [ip_address(PUBLIC), ip_address("127.0.0.1")]
    assert "127.0.0.1" in redirect_refusal([ip_address(PUBLIC)], "rebind.example", mixed)
    # a source with any internal address already reaches inside: not a crossing
    assert redirect_refusal(mixed, "rebind.example", mixed) is None


def test_names_are_judged_on_what_they_resolve_to():
    def resolve(host):
        return {
            "feeds.example": [ip_address(PUBLIC)],
            "meta.example": [ip_address("169.254.169.254")],
        }.get(host, [])

    reason = check_redirect("feeds.example", "meta.example", resolve=resolve)
    assert "meta.example" in reason and "169.254.169.254" in reason and "link-local" in reason
    assert check_redirect("feeds.example", "unresolvable.example", resolve=resolve) is None


def test_an_unresolvable_host_resolves_to_nothing(monkeypatch):
    def fail(*args, **kwargs):  # no DNS query leaves the test
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    assert resolve_host("nowhere.invalid") == []
    assert resolve_host("127.0.0.1") == [ip_address("127.0.0.1")]  # literals need no lookup


def test_feed_config_has_allow_private_off_by_default():
    feed = FeedConfig(id="f", url="https://example.org/feed")
    assert feed.allow_private is False
    assert FeedConfig.model_fields["allow_private"].description
    assert FeedConfig(id="f", url="https://x.org/", allow_private=True).allow_private is True
