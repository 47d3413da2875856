"""default.jwt (contract §8.3 row 21) against the loopback fake's JSON Web Key Set, on an injected wall clock."""

from __future__ import annotations

import pytest

from gateway_grpc.errors import InvalidConfig
from gateway_grpc.guardrails.base import BEFORE, CHAT, Services, Subject
from gateway_grpc.guardrails.checking import compile_check, evaluate, evaluate_check
from gateway_grpc.guardrails.checks.jwt import JWT, REFETCH_COOLDOWN_S
from gateway_grpc.guardrails.outbound import HttpOutbound
from gateway_grpc.host_guard import HostGuard
from gateway_grpc.providers.transport import ProviderTransport
from gateway_grpc.types import ChatRequest, Message
from tests.fakes.guardrail_upstreams import GuardrailUpstreams

NOW = 1_800_000_000.0
DAY = 86400


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def fake():
    with GuardrailUpstreams() as server:
        yield server


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
async def services(fake, clock):
    fake.clear()
    fake.jwks_fetches = 0
    transport = ProviderTransport()
    yield Services(outbound=HttpOutbound(transport, HostGuard()), wall_clock=clock)
    await transport.aclose()


def _subject(headers: dict[str, str]) -> Subject:
    return Subject(BEFORE, CHAT, ChatRequest("m", (Message("user", "hi"),)), text="hi", headers=headers)


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _params(fake: GuardrailUpstreams, **extra) -> dict:
    return {"jwksUri": fake.url("/jwks"), **extra}


CLAIMS = {"sub": "user-1", "iat": NOW - 60, "exp": NOW + 3600}


@pytest.mark.parametrize(("claims", "params", "sign", "verdict", "explanation"), [
    (CLAIMS, {}, {}, True, "JWT token validation succeeded"),
    ({**CLAIMS, "aud": "someone", "iss": "idp"}, {}, {}, True, "JWT token validation succeeded"),
    ({**CLAIMS, "exp": NOW - 10}, {}, {}, False, "the token has expired"),
    ({**CLAIMS, "exp": NOW - 3}, {}, {}, True, "succeeded"),
    ({**CLAIMS, "exp": NOW - 3}, {"clockTolerance": 0}, {}, False, "the token has expired"),
    ({**CLAIMS, "exp": NOW - 30}, {"clockTolerance": "1m"}, {}, True, "succeeded"),
    ({**CLAIMS, "nbf": NOW + 60}, {}, {}, False, "not yet valid"),
    ({**CLAIMS, "iat": NOW + 60}, {}, {}, False, "issued in the future"),
    ({**CLAIMS, "iat": NOW - 2 * DAY, "exp": NOW + DAY}, {}, {}, False, "older than maxTokenAge (86400 s)"),
    ({**CLAIMS, "iat": NOW - 2 * 3600}, {"maxTokenAge": "1h"}, {}, False, "older than maxTokenAge (3600 s)"),
    ({**CLAIMS, "iat": NOW - 30 * 60}, {"maxTokenAge": "1h"}, {}, True, "succeeded"),
    ({**CLAIMS, "iat": NOW - 3 * DAY}, {"maxTokenAge": "7 days"}, {}, True, "succeeded"),
    ({"sub": "user-1", "exp": NOW + 60}, {}, {}, False, '"iat" claim is required'),
    (CLAIMS, {}, {"unlisted": True}, False, "Signature verification failed"),
    (CLAIMS, {}, {"algorithm": "HS256", "secret": b"k" * 32}, False, "JWT validation error"),
    (CLAIMS, {}, {"kid": "key-unknown"}, False, "No matching key found for kid"),
], ids=["valid", "aud-iss-not-checked", "expired", "expired-within-tolerance", "expired-no-tolerance",
        "tolerance-duration", "nbf-future", "iat-future", "max-age-default", "max-age-1h", "within-max-age",
        "max-age-days", "no-iat", "wrong-key", "hs256-confusion", "unknown-kid"])
async def test_jwt_verdicts(fake, services, claims, params, sign, verdict, explanation):
    token = fake.sign(claims, **sign)
    result, _ = await evaluate_check(JWT, _params(fake, **params), _subject(_bearer(token)), services)
    assert (result.verdict, result.error) == (verdict, None)
    assert result.data["verdict"] is verdict and explanation in result.data["explanation"]


@pytest.mark.parametrize(("headers", "params", "explanation"), [
    ({}, {}, "Missing authorization header (authorization)"),
    ({"authorization": "Bearer "}, {}, "Missing authorization header"),
    ({"authorization": "Bearer not.a.jwt"}, {}, "JWT validation error"),
    ({"x-user-token": "TOKEN"}, {}, "Missing authorization header"),
], ids=["absent", "empty", "malformed", "other-header"])
async def test_jwt_missing_or_malformed_token_is_false(fake, services, headers, params, explanation):
    result, _ = await evaluate_check(JWT, _params(fake, **params), _subject(headers), services)
    assert (result.verdict, result.error) == (False, None)
    assert explanation in result.data["explanation"]


@pytest.mark.parametrize(("header_key", "value"), [
    ("X-User-Token", "{t}"), ("x-user-token", "bearer {t}"), ("Authorization", "{t}"),
], ids=["raw", "bearer-any-case", "no-bearer"])
async def test_jwt_reads_the_configured_header(fake, services, header_key, value):
    token = fake.sign(CLAIMS)
    headers = {header_key.lower(): value.format(t=token)}
    result, _ = await evaluate_check(JWT, _params(fake, headerKey=header_key), _subject(headers), services)
    assert result.verdict is True


@pytest.mark.parametrize(("sign", "verdict", "explanation"), [
    ({}, True, "succeeded"),
    ({"algorithm": "PS256"}, True, "succeeded"),
    ({"algorithm": "HS256", "secret": b"k" * 32}, False, "'HS256' is not accepted"),
], ids=["rs256", "ps256", "hs256-refused"])
async def test_jwt_key_without_alg_takes_the_tokens_asymmetric_algorithm(fake, services, sign, verdict, explanation):
    token = fake.sign(CLAIMS, **sign)
    result, _ = await evaluate_check(JWT, {"jwksUri": fake.url("/jwks?no-alg")}, _subject(_bearer(token)), services)
    assert result.verdict is verdict and explanation in result.data["explanation"]


async def test_jwt_key_set_is_cached_for_cache_max_age(fake, services, clock):
    check = compile_check(JWT, _params(fake, cacheMaxAge=600), "parameters", services)
    subject = _subject(_bearer(fake.sign(CLAIMS)))
    for _ in range(3):
        assert (await evaluate(check, subject))[0].verdict is True
    assert fake.jwks_fetches == 1
    clock.now += 601
    subject = _subject(_bearer(fake.sign({**CLAIMS, "iat": clock.now, "exp": clock.now + 60})))
    assert (await evaluate(check, subject))[0].verdict is True
    assert fake.jwks_fetches == 2


async def test_jwt_rotated_key_is_fetched_once_the_cooldown_has_passed(fake, services, clock):
    check = compile_check(JWT, _params(fake), "parameters", services)
    assert (await evaluate(check, _subject(_bearer(fake.sign(CLAIMS)))))[0].verdict is True
    fake.rotate()
    rotated = _subject(_bearer(fake.sign(CLAIMS)))
    result, _ = await evaluate(check, rotated)
    assert (result.verdict, result.data["explanation"]) == (False, "No matching key found for kid")
    assert fake.jwks_fetches == 1
    clock.now += REFETCH_COOLDOWN_S
    assert (await evaluate(check, rotated))[0].verdict is True
    assert fake.jwks_fetches == 2
    clock.now += 1
    assert (await evaluate(check, _subject(_bearer(fake.sign(CLAIMS, kid="key-gone")))))[0].verdict is False
    assert fake.jwks_fetches == 2  # within the cooldown again: no fetch for an unknown kid


async def test_jwt_unreachable_key_set_is_an_errored_check(fake, services):
    parameters = {"jwksUri": fake.url("/jwks?status=500"), "failOnError": True}
    result, _ = await evaluate_check(JWT, parameters, _subject(_bearer(fake.sign(CLAIMS))), services)
    assert (result.verdict, result.error[0]) == (False, "UnexpectedStatus")


@pytest.mark.parametrize(("parameters", "field"), [
    ({}, "jwksUri"),
    ({"jwksUri": "http://169.254.169.254/jwks"}, "jwksUri"),
    ({"jwksUri": "https://idp.example.com/jwks", "maxTokenAge": "forever"}, "maxTokenAge"),
    ({"jwksUri": "https://idp.example.com/jwks", "maxTokenAge": -5}, "maxTokenAge"),
    ({"jwksUri": "https://idp.example.com/jwks", "clockTolerance": [5]}, "clockTolerance"),
    ({"jwksUri": "https://idp.example.com/jwks", "cacheMaxAge": -1}, "cacheMaxAge"),
    ({"jwksUri": "https://idp.example.com/jwks", "headerKey": 7}, "headerKey"),
    ({"jwksUri": "https://idp.example.com/jwks", "algorithms": ["RS256"]}, "algorithms"),
], ids=["missing-uri", "metadata-uri", "max-age-word", "max-age-negative", "tolerance-list", "cache-negative",
        "header-number", "unknown-parameter"])
async def test_jwt_config_errors_name_the_parameter(services, parameters, field):
    with pytest.raises(InvalidConfig) as caught:
        await evaluate_check(JWT, parameters, _subject({}), services)
    assert caught.value.violations[0].field == f"parameters.{field}"


def test_jwt_hooks_match_the_contract():
    assert (JWT.events, JWT.negatable) == (frozenset({BEFORE}), False)
