"""`python -m gateway_grpc serve ...`: run one gRPC server process (`gateway up` runs these for you)."""

from __future__ import annotations

import argparse
import logging
import sys

import uvloop

from gateway_grpc.config import load_settings
from gateway_grpc.errors import InvalidConfig
from gateway_grpc.server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway_grpc")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="run the gRPC server")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=50051)
    run.add_argument("--config", default=None, help="gateway config file (YAML)")
    run.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = load_settings(args.config)
    except InvalidConfig as exc:
        print(f"gateway_grpc: {exc.message}", file=sys.stderr)
        return 2
    return uvloop.run(serve(settings, args.host, args.port))


if __name__ == "__main__":
    sys.exit(main())
