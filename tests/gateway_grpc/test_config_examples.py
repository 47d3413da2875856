"""The example config files (the README's, and the one docker-compose.yml mounts) load strictly and build a
pipeline: they cannot drift from the settings they document."""

from __future__ import annotations

import pathlib

from gateway_grpc.config import load_settings
from gateway_grpc.pipeline import build_pipeline
from gateway_grpc.providers.transport import ProviderTransport

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
EXAMPLE = EXAMPLES / "gateway.yaml"


async def test_config_example_loads_and_builds_a_pipeline():
    settings = load_settings(EXAMPLE)
    assert settings.cache.backend == "memory" and settings.cache.semantic.similarity_threshold == 0.95
    transport = ProviderTransport()
    pipeline = build_pipeline(settings, transport)
    for name in settings.configs:
        assert pipeline.routes.named(name, "x-portkey-config").path == "config"
    await pipeline.cache.aclose()
    await transport.aclose()


def test_config_compose_example_shares_the_cache_through_the_redis_service():
    cache = load_settings(EXAMPLES / "compose-gateway.yaml").cache
    assert (cache.backend, cache.redis_url) == ("redis", "redis://redis:6379/0")
