"""Tests for gateway-grpc; mirrors the package layout (CONVENTIONS §10)."""
