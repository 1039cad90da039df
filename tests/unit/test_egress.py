"""The egress policy: which resolved addresses are refused by default, and what operators allow."""

from __future__ import annotations

import aiohttp
import pytest

from passway.egress import (
    EgressPolicy,
    EgressRefused,
    blocked_reason,
    egress_denial,
)
from passway.errors import ConfigurationError, EgressDenied
from passway.problems import problem_document

BLOCKED = [
    ("127.0.0.1", "loopback address"),
    ("127.1.2.3", "loopback address"),
    ("::1", "loopback address"),
    ("10.1.2.3", "private address"),
    ("172.16.0.1", "private address"),
    ("172.31.255.255", "private address"),
    ("192.168.1.1", "private address"),
    ("fc00::1", "private address"),
    ("fd12:3456::1", "private address"),
    ("169.254.1.1", "link-local address"),
    ("fe80::1", "link-local address"),
    ("fe80::1%eth0", "link-local address"),
    ("169.254.169.254", "cloud metadata address"),
    ("169.254.170.2", "cloud metadata address"),
    ("fd00:ec2::254", "cloud metadata address"),
    ("100.100.100.200", "cloud metadata address"),
    ("0.0.0.0", "unspecified address"),
    ("::", "unspecified address"),
    ("100.64.0.1", "shared (CGNAT) address"),
    ("100.127.255.254", "shared (CGNAT) address"),
    ("224.0.0.1", "multicast address"),
    ("ff02::1", "multicast address"),
    ("240.0.0.1", "private address"),
    ("255.255.255.255", "private address"),
    ("192.0.2.10", "private address"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback address"),
    ("::ffff:169.254.169.254", "IPv4-mapped cloud metadata address"),
    ("::ffff:10.0.0.1", "IPv4-mapped private address"),
    ("::ffff:8.8.8.8", "IPv4-mapped address"),
    ("2002:7f00:1::", "IPv6 address embedding a loopback address"),
    ("2002:a9fe:a9fe::", "IPv6 address embedding a cloud metadata address"),
    ("64:ff9b::a00:1", "IPv6 address embedding a private address"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "IPv6 address embedding a loopback address"),
    ("not-an-ip", "not an IP address"),
]


@pytest.mark.parametrize(("address", "reason"), BLOCKED)
def test_non_public_addresses_are_blocked_with_a_named_reason(address: str, reason: str) -> None:
    assert blocked_reason(address) == reason


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450::1"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert blocked_reason(address) is None
    assert EgressPolicy().refusal("api.example.com", address) is None


def test_by_default_everything_non_public_is_refused() -> None:
    policy = EgressPolicy.from_settings(())
    for address, reason in BLOCKED:
        assert policy.refusal("api.example.com", address) == reason


def test_listed_addresses_and_networks_are_allowed() -> None:
    policy = EgressPolicy.from_settings(["127.0.0.1", "10.0.0.0/8", " fd00::/8 ", ""])
    assert policy.refusal("x.example", "127.0.0.1") is None
    assert policy.refusal("x.example", "::ffff:127.0.0.1") is None  # mapped, by its IPv4 form
    assert policy.refusal("x.example", "10.200.0.1") is None
    assert policy.refusal("x.example", "fd12::1") is None
    assert policy.refusal("x.example", "127.0.0.2") == "loopback address"
    assert policy.refusal("x.example", "192.168.0.1") == "private address"
    assert policy.refusal("x.example", "169.254.169.254") == "cloud metadata address"


def test_listed_host_names_allow_whatever_they_resolve_to() -> None:
    policy = EgressPolicy.from_settings(["Crm.Corp.Example.", "*.internal.example"])
    assert policy.refusal("crm.corp.example", "10.0.0.5") is None
    assert policy.refusal("a.b.internal.example", "192.168.3.4") is None
    assert policy.refusal("internal.example", "192.168.3.4") == "private address"
    assert policy.refusal("other.corp.example", "10.0.0.5") == "private address"


def test_an_invalid_cidr_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not a valid CIDR"):
        EgressPolicy.from_settings(["10.0.0.0/33"])


def test_check_keeps_the_allowed_addresses_in_order_and_refuses_when_none_is_left() -> None:
    policy = EgressPolicy()
    assert policy.check("x.example", ["10.0.0.1", "93.184.216.34", "8.8.8.8"]) == [
        "93.184.216.34",
        "8.8.8.8",
    ]
    with pytest.raises(EgressRefused) as caught:
        policy.check("x.example", ["127.0.0.1", "::1"])
    assert (caught.value.host, caught.value.address) == ("x.example", "127.0.0.1")
    assert caught.value.reason == "loopback address"


def test_a_refusal_wrapped_by_aiohttp_maps_to_egress_denied_naming_the_reason() -> None:
    refused = EgressRefused("metadata.example", "169.254.169.254", "cloud metadata address")
    key = aiohttp.client_reqrep.ConnectionKey("metadata.example", 80, False, True, None, None, None)
    wrapped = aiohttp.ClientConnectorError(key, refused)
    wrapped.__cause__ = refused
    denied = egress_denial(wrapped)
    assert isinstance(denied, EgressDenied)
    assert (denied.status, denied.code) == (403, "egress_denied")
    assert "cloud metadata address" in denied.detail
    document = problem_document(denied, instance="/x", request_id="r", subsystem="proxy")
    assert document["context"]["reason"] == "cloud metadata address"
    assert egress_denial(aiohttp.ClientConnectionError("reset")) is None
    assert egress_denial(ConnectionRefusedError()) is None
