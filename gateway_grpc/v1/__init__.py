"""Generated from proto/gateway_grpc/v1 by scripts/codegen.py; never edit."""
