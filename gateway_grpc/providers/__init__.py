"""The provider registry: the one place that lists the adapters. Never branch on a provider name elsewhere."""

from __future__ import annotations

from gateway_grpc.providers.base import Provider
from gateway_grpc.providers.openai import OpenAI

PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        OpenAI(),
        # OpenAI-compatible hosts are data: a slug and a default base URL.
        OpenAI("groq", "https://api.groq.com/openai/v1"),
        OpenAI("deepseek", "https://api.deepseek.com/v1"),
        OpenAI("together-ai", "https://api.together.xyz/v1"),
        OpenAI("ollama", "http://localhost:11434/v1"),
        OpenAI("vllm", "http://localhost:8000/v1"),
    )
}
