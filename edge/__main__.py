"""`python -m edge --host H --port P --grpc-target HOST:PORT`: serves the edge app with uvicorn (uvloop + httptools)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from edge.app import DEFAULT_MAX_BODY_BYTES, create_app


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m edge", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--grpc-target", required=True, help="the gateway's gRPC address, HOST:PORT")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    uvicorn.run(
        create_app(args.grpc_target, args.max_body_bytes),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    main()
