"""`default.validUrls` (contract §8.3 row 9): every http(s) URL in the text is real: its host resolves (`onlyDNS`),
or a GET of it ends in a 2xx, following up to MAX_REDIRECTS redirects (Portkey's fetch follows them too). A text
without any URL is false, as in Portkey.

The URLs come from model output, so the SSRF guard judges each URL and each redirect target before anything is
sent: one it refuses (private or metadata address, internal name) is invalid and never fetched. Bounds: at most
MAX_URLS distinct URLs (more is an error rather than a verdict on a subset), CONCURRENCY checks in flight, and
URL_TIMEOUT_S per URL, redirects included (Portkey's 3 s).
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urljoin, urlsplit

from gateway_grpc.errors import CustomHostBlocked
from gateway_grpc.guardrails.base import (
    AFTER,
    CheckFn,
    CheckSkipped,
    CheckType,
    Outbound,
    Outcome,
    Params,
    Services,
    Subject,
)

URL_PATTERN = re.compile(r"https?://[^\s]+")  # Portkey's: http(s):// up to the next whitespace
MAX_URLS = 20
CONCURRENCY = 10
URL_TIMEOUT_S = 3.0
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TRAILING = ".,;:!?'\"*_`"
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}


def _trimmed(url: str) -> str:
    """The URL without what ends the sentence around it: trailing punctuation ("see https://a.example.") and an
    unbalanced closing bracket (a Markdown link's `)`). Portkey keeps them, and fails such URLs for it."""
    while url:
        last = url[-1]
        if last in _TRAILING or (last in _CLOSERS and url.count(last) > url.count(_CLOSERS[last])):
            url = url[:-1]
        else:
            break
    return url


def found_urls(text: str) -> list[str]:
    """The distinct http(s) URLs of `text`, in order of appearance."""
    return list(dict.fromkeys(_trimmed(match) for match in URL_PATTERN.findall(text)))


async def _answers(outbound: Outbound, url: str) -> str:
    """'' when a GET of `url` ends in a 2xx, else why not."""
    for _ in range(MAX_REDIRECTS + 1):
        response = await outbound.request("GET", url, timeout_s=URL_TIMEOUT_S)
        location = response.headers.get("location")
        if response.status not in _REDIRECTS or not location:
            return "" if 200 <= response.status < 300 else f"answered HTTP {response.status}"
        url = urljoin(url, location)
    return f"more than {MAX_REDIRECTS} redirects"


async def _resolves(outbound: Outbound, url: str) -> str:
    """'' when the URL's host resolves, else why not."""
    host = urlsplit(url).hostname
    if not host:
        return "the URL has no host"
    return "" if await outbound.resolves(host, URL_TIMEOUT_S) else "the host does not resolve"


async def _problem(outbound: Outbound, url: str, only_dns: bool, slots: asyncio.Semaphore) -> str:
    """'' for a valid URL, else the reason it is not; any failure to reach it makes it invalid, as in Portkey."""
    async with slots:
        try:
            async with asyncio.timeout(URL_TIMEOUT_S):
                return await (_resolves(outbound, url) if only_dns else _answers(outbound, url))
        except CustomHostBlocked:
            return "refused by the SSRF guard (not fetched)"
        except TimeoutError:
            return f"no answer within {URL_TIMEOUT_S:g} s"
        except Exception as exc:
            return f"could not be reached ({type(exc).__name__})"


def _compile(params: Params, services: Services) -> CheckFn:
    only_dns = params.boolean("onlyDNS")

    async def check(subject: Subject) -> Outcome:
        outbound = services.outbound
        if outbound is None:
            raise CheckSkipped("no outbound HTTP service is configured for guardrails; check skipped")
        urls = found_urls(subject.text)
        if len(urls) > MAX_URLS:
            raise ValueError(f"the text has {len(urls)} distinct URLs; validUrls checks at most {MAX_URLS}")
        slots = asyncio.Semaphore(CONCURRENCY)
        problems = await asyncio.gather(*(_problem(outbound, url, only_dns, slots) for url in urls))
        invalid = [{"url": url, "reason": why} for url, why in zip(urls, problems, strict=True) if why]
        data = {"validURLs": [url for url, why in zip(urls, problems, strict=True) if not why],
                "invalidURLs": invalid, "onlyDNS": only_dns}
        if not urls:
            data["explanation"] = "the text has no http(s) URL"
        return Outcome(bool(urls) and not invalid, data)

    return check


VALID_URLS = CheckType("default.validUrls", _compile, frozenset({AFTER}))
