"""The OpenAI/Portkey REST edge: a Starlette shim that serves the OpenAI surface by calling the gateway's gRPC API.

A client of the gRPC API like any other: imports only the generated stubs `gateway_grpc.v1` (test-enforced).
"""
