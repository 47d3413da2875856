"""gateway-grpc: a provider-neutral AI gateway (gRPC core, OpenAI REST edge, Envoy in front)."""

__version__ = "0.1.0"
