"""The provider registry: the one place that lists the adapters. Never branch on a provider name elsewhere.

Its keys are the accepted `x-portkey-provider` slugs (contract §13 row 29: the accepted list is the registry).
"""

from __future__ import annotations

from gateway_grpc.providers.anthropic import Anthropic
from gateway_grpc.providers.azure import AzureOpenAI
from gateway_grpc.providers.base import Provider
from gateway_grpc.providers.bedrock import Bedrock
from gateway_grpc.providers.cohere import Cohere
from gateway_grpc.providers.gemini import Gemini
from gateway_grpc.providers.mistral import Mistral
from gateway_grpc.providers.openai import OpenAI
from gateway_grpc.providers.openai_hosts import EMBEDDING_HOSTS, OPENAI_HOSTS
from gateway_grpc.providers.stability import StabilityAI
from gateway_grpc.providers.vertex import VertexAI

PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        OpenAI(),
        AzureOpenAI(),
        Mistral(),
        Anthropic(),
        Cohere(),
        Gemini(),
        Bedrock(),
        VertexAI(),
        StabilityAI(),
        *OPENAI_HOSTS,  # the long tail of OpenAI-compatible hosts: data rows (openai_hosts.py)
        *EMBEDDING_HOSTS,  # embeddings-only OpenAI-compatible hosts (jina, voyage): rows too
    )
}
