"""The SSRF guard for custom hosts: a table of URLs and what the guard says about each."""

import pytest

from gateway_grpc.errors import CustomHostBlocked
from gateway_grpc.host_guard import HostGuard

ALLOWED = [
    "http://127.0.0.1:8000/v1",
    "http://localhost:11434/v1",
    "http://[::1]:8000/v1",
    "https://api.groq.com/openai/v1",
    "https://8.8.8.8/v1",
    "http://host.docker.internal:8000/v1",
]
BLOCKED = [
    ("ftp://example.com/v1", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("http://user:pass@example.com/v1", "credentials"),
    ("http://example.com@127.0.0.1/v1", "credentials"),
    ("http://10.0.0.5/v1", "private"),
    ("http://192.168.1.1/v1", "private"),
    ("http://172.16.0.1/v1", "private"),
    ("http://169.254.169.254/latest/meta-data", "private"),
    ("http://100.64.0.1/v1", "private"),
    ("http://[fd00::1]/v1", "private"),
    ("http://[fe80::1]/v1", "private"),
    ("http://[::ffff:127.0.0.1]/v1", "IPv4-mapped"),
    ("http://224.0.0.1/v1", "private"),
    ("http://0.0.0.0/v1", "private"),
    ("http://2130706433/v1", "unusual IP"),
    ("http://0x7f000001/v1", "unusual IP"),
    ("http://0177.0.0.1/v1", "unusual IP"),
    ("http://127.1/v1", "unusual IP"),
    ("http://metadata.google.internal/computeMetadata/v1", "internal host"),
    ("http://printer.local/v1", "internal host"),
    ("http://db.corp/v1", "internal host"),
    ("http://example.com./v1", "malformed"),
    ("http://exa%6dple.com/v1", "malformed"),
    ("http://a.b.c.d.e.f.g.h.i.j.k.com/v1", "malformed"),
    ("http://exämple.com/v1", "non-ASCII"),
    ("http://example.com:99999/v1", "port"),
    ("http:///v1", "no host"),
]


@pytest.mark.parametrize("url", ALLOWED)
def test_host_guard_allows_public_and_loopback_hosts(url):
    assert HostGuard().check(url) == url.rstrip("/")


@pytest.mark.parametrize(("url", "reason"), BLOCKED)
def test_host_guard_blocks_with_a_reason(url, reason):
    with pytest.raises(CustomHostBlocked) as caught:
        HostGuard().check(url, "x-portkey-custom-host")
    assert reason in caught.value.message
    assert caught.value.violations[0].field == "x-portkey-custom-host"


def test_host_guard_allowlist_admits_cidrs_and_name_suffixes():
    guard = HostGuard(["10.0.0.0/8", ".svc.cluster.local"])
    assert guard.check("http://10.1.2.3:8000/v1") == "http://10.1.2.3:8000/v1"
    assert guard.check("http://vllm.models.svc.cluster.local/v1") == "http://vllm.models.svc.cluster.local/v1"
    with pytest.raises(CustomHostBlocked):
        guard.check("http://127.0.0.1/v1")  # loopback is only allowed by the default list


def test_host_guard_default_does_not_allow_internal_localhost_subdomains():
    with pytest.raises(CustomHostBlocked):
        HostGuard().check("http://evil.localhost/v1")
