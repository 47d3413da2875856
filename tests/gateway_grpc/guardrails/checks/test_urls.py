"""default.validUrls (contract §8.3 row 9) against the loopback guardrail fake: GET with redirects, DNS only, and
the SSRF guard in front of every URL the model wrote."""

from __future__ import annotations

import pytest

from gateway_grpc.guardrails.base import AFTER, CHAT, Services, Subject
from gateway_grpc.guardrails.checking import evaluate_check
from gateway_grpc.guardrails.checks.urls import MAX_URLS, VALID_URLS, found_urls
from gateway_grpc.guardrails.outbound import HttpOutbound
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.providers.transport import ProviderTransport
from gateway_grpc.types import ChatRequest, Message
from tests.fakes.guardrail_upstreams import GuardrailUpstreams


@pytest.fixture(scope="module")
def fake():
    with GuardrailUpstreams() as server:
        yield server


@pytest.fixture
async def transport(fake):
    fake.clear()
    transport = ProviderTransport()
    yield transport
    await transport.aclose()


@pytest.fixture
def services(transport):
    return Services(outbound=HttpOutbound(transport, HostGuard()))


def _subject(text: str) -> Subject:
    return Subject(AFTER, CHAT, ChatRequest("m", (Message("user", "links?"),)), text=text)


@pytest.mark.parametrize(("text", "urls"), [
    ("no links here", []),
    ("see https://a.example/x and http://b.example:8080/y?q=1", ["https://a.example/x", "http://b.example:8080/y?q=1"]),
    ("Visit https://a.example/docs.", ["https://a.example/docs"]),
    ("[docs](https://a.example/docs), or (https://a.example/wiki/Foo_(bar))",
     ["https://a.example/docs", "https://a.example/wiki/Foo_(bar)"]),
    ('"https://a.example/q" and **https://a.example/b**', ["https://a.example/q", "https://a.example/b"]),
    ("https://a.example/x twice https://a.example/x", ["https://a.example/x"]),
    ("ftp://a.example/x and HTTPS://A.EXAMPLE/", []),
], ids=["none", "two", "sentence-end", "markdown-and-parens", "quotes-and-bold", "duplicate", "not-http-lowercase"])
def test_urls_found_urls(text, urls):
    assert found_urls(text) == urls


@pytest.mark.parametrize(("paths", "verdict", "invalid"), [
    (["/status/200"], True, []),
    (["/status/200", "/status/204"], True, []),
    (["/status/404"], False, ["/status/404"]),
    (["/status/200", "/status/500"], False, ["/status/500"]),
    (["/redirect?to=/status/200"], True, []),
    (["/redirect?to=/status/404"], False, ["/redirect?to=/status/404"]),
    (["/redirect?to=/redirect?to=/status/200"], True, []),
], ids=["valid", "two-valid", "invalid", "mixed", "redirect-to-valid", "redirect-to-invalid", "two-redirects"])
async def test_urls_every_url_must_answer_2xx(fake, services, paths, verdict, invalid):
    text = "Sources: " + ", ".join(fake.url(p) for p in paths) + "."
    result, _ = await evaluate_check(VALID_URLS, {}, _subject(text), services)
    assert result.verdict is verdict
    assert [item["url"] for item in result.data["invalidURLs"]] == [fake.url(p) for p in invalid]
    assert result.data["validURLs"] == [fake.url(p) for p in paths if p not in invalid]


async def test_urls_no_url_is_false(services):
    result, _ = await evaluate_check(VALID_URLS, {}, _subject("nothing to check"), services)
    assert (result.verdict, result.data["validURLs"], result.data["invalidURLs"]) == (False, [], [])


async def test_urls_not_inverts(fake, services):
    result, _ = await evaluate_check(VALID_URLS, {"not": True}, _subject(fake.url("/status/404")), services)
    assert result.verdict is True


async def test_urls_slow_url_is_invalid(fake, services):
    result, _ = await evaluate_check(VALID_URLS, {}, _subject(fake.url("/slow?ms=4000")), services)
    assert result.verdict is False
    assert result.data["invalidURLs"][0]["reason"].startswith("no answer within")


@pytest.mark.parametrize(("url", "verdict"), [
    ("http://localhost:1/never-fetched", True),
    ("https://no-such-host.invalid/page", False),
    ("http://169.254.169.254/latest/meta-data", False),
], ids=["resolves", "does-not-resolve", "guarded"])
async def test_urls_only_dns_resolves_hosts_without_fetching(fake, services, url, verdict):
    result, _ = await evaluate_check(VALID_URLS, {"onlyDNS": True}, _subject(f"go to {url}"), services)
    assert (result.verdict, result.data["onlyDNS"]) == (verdict, True)
    assert fake.requests == []


@pytest.mark.parametrize("only_dns", [False, True], ids=["fetch", "dns"])
async def test_urls_refused_addresses_are_invalid_and_never_fetched(fake, transport, only_dns):
    services = Services(outbound=HttpOutbound(transport, HostGuard(allowed=())))  # loopback not allow-listed
    text = f"{fake.url('/status/200')} and http://10.0.0.1/admin and http://169.254.169.254/latest/meta-data"
    result, _ = await evaluate_check(VALID_URLS, {"onlyDNS": only_dns}, _subject(text), services)
    assert result.verdict is False
    assert [item["reason"] for item in result.data["invalidURLs"]] == ["refused by the SSRF guard (not fetched)"] * 3
    assert fake.requests == []


async def test_urls_redirect_to_a_refused_address_is_invalid_and_not_followed(fake, services):
    url = fake.url("/redirect?to=http://169.254.169.254/latest/meta-data")
    result, _ = await evaluate_check(VALID_URLS, {}, _subject(url), services)
    assert result.verdict is False
    assert result.data["invalidURLs"] == [{"url": url, "reason": "refused by the SSRF guard (not fetched)"}]
    assert fake.paths() == ["/redirect"]


async def test_urls_too_many_urls_is_an_errored_check(fake, services):
    text = " ".join(fake.url(f"/status/200?n={n}") for n in range(MAX_URLS + 1))
    result, _ = await evaluate_check(VALID_URLS, {"failOnError": True}, _subject(text), services)
    assert (result.verdict, result.error[0]) == (False, "ValueError")
    assert fake.requests == []


async def test_urls_without_outbound_service_is_skipped():
    result, _ = await evaluate_check(VALID_URLS, {}, _subject("https://a.example/"))
    assert (result.skipped, result.verdict) == (True, True)


def test_urls_hooks_match_the_contract():
    assert (VALID_URLS.events, VALID_URLS.negatable) == (frozenset({AFTER}), True)
