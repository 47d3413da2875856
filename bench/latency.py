"""How much latency the gateway adds, and how much it can carry: `python -m bench.latency`.

Starts the fast fake OpenAI upstream (tests/fakes, strict checks off) and the whole stack (`gateway up`: Envoy,
gRPC server, edge), then measures with keep-alive clients on loopback:
  * sequential (concurrency 1) p50/p99 of: the fake called directly (the baseline), the OpenAI REST path through
    Envoy and the edge (also answered from the exact cache, and with a typical input guardrail set), the native
    gRPC path through Envoy, and the transcoded REST path;
  * throughput at concurrency 16 on the gRPC and OpenAI REST paths.
"Added" = path percentile minus the direct baseline's. Client, gateway and fake share this machine's cores.
The REST throughput client is aiohttp on uvloop (~0.2 ms of CPU a call): httpx's async client costs ~1.3 ms a call
at concurrency 16 (its pool polls every pooled socket per request), so it measured itself more than the gateway.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import aiohttp
import grpc
import httpx
import orjson
import uvloop

from bench.guardrails import INPUT_SET
from gateway_grpc.v1 import chat_pb2, gateway_service_pb2_grpc, options_pb2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "Say hello to the benchmark"}]
CACHED = '{"cache": {"mode": "simple", "max_age": 3600}}'  # every call after the first answered from the cache
GUARDED = orjson.dumps({"input_guardrails": [INPUT_SET]}).decode()  # wordCount + regexMatch + PII (bench/guardrails.py)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {url}")


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def percentiles(samples_s: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    ordered = sorted(samples_s)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


def time_calls(call: Callable[[], object], n: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def sequential(fake_url: str, port: int, n: int, warmup: int) -> dict[str, list[float]]:
    body = orjson.dumps({"model": MODEL, "messages": MESSAGES})
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench"}
    gateway_headers = {**headers, "x-portkey-provider": "openai", "x-portkey-custom-host": fake_url}
    grpc_request = chat_pb2.CreateChatCompletionRequest(
        model=MODEL, messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, text=MESSAGES[1]["content"])],
        options=options_pb2.RequestOptions(provider="openai", custom_host=fake_url))
    transcoded = orjson.dumps({"model": MODEL, "messages": [{"role": "ROLE_USER", "text": MESSAGES[1]["content"]}],
                               "options": {"provider": "openai", "custom_host": fake_url}})
    base = f"http://127.0.0.1:{port}"
    results = {}
    with httpx.Client() as client, grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)

        def ok(response: httpx.Response) -> None:
            if response.status_code != 200:
                raise SystemExit(f"benchmark request failed: {response.status_code} {response.text[:300]}")

        paths = {
            "direct (fake upstream, baseline)": lambda: ok(client.post(f"{fake_url}/chat/completions", content=body,
                                                                       headers=headers)),
            "OpenAI REST via Envoy + edge": lambda: ok(client.post(f"{base}/v1/chat/completions", content=body,
                                                                   headers=gateway_headers)),
            "OpenAI REST via Envoy + edge, exact cache hit": lambda: ok(client.post(
                f"{base}/v1/chat/completions", content=body, headers={**gateway_headers, "x-portkey-config": CACHED})),
            "OpenAI REST via Envoy + edge, input guardrails": lambda: ok(client.post(
                f"{base}/v1/chat/completions", content=body, headers={**gateway_headers, "x-portkey-config": GUARDED})),
            "native gRPC via Envoy": lambda: stub.CreateChatCompletion(
                grpc_request, metadata=(("authorization", "Bearer sk-bench"),)),
            "transcoded REST via Envoy": lambda: ok(client.post(f"{base}/v1/gateway/chat/completions",
                                                                content=transcoded, headers=headers)),
        }
        for name, call in paths.items():
            results[name] = time_calls(call, n, warmup)
    return results


async def _throughput_grpc(port: int, fake_url: str, concurrency: int, total: int) -> tuple[float, list[float]]:
    request = chat_pb2.CreateChatCompletionRequest(
        model=MODEL, messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, text="hi")],
        options=options_pb2.RequestOptions(provider="openai", custom_host=fake_url))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = gateway_service_pb2_grpc.GatewayServiceStub(channel)
        meta = (("authorization", "Bearer sk-bench"),)

        async def one() -> None:
            await stub.CreateChatCompletion(request, metadata=meta)
        return await _drive(one, concurrency, total)


async def _throughput_rest(port: int, fake_url: str, concurrency: int, total: int) -> tuple[float, list[float]]:
    body = orjson.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})
    headers = {"content-type": "application/json", "authorization": "Bearer sk-bench",
               "x-portkey-provider": "openai", "x-portkey-custom-host": fake_url}
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as client:
        async def one() -> None:
            async with client.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise SystemExit(f"benchmark request failed: {response.status}")
        return await _drive(one, concurrency, total)


async def _drive(one: Callable, concurrency: int, total: int) -> tuple[float, list[float]]:
    for _ in range(50):
        await one()
    latencies: list[float] = []
    remaining = [total]

    async def worker() -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            start = time.perf_counter()
            await one()
            latencies.append(time.perf_counter() - start)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return total / (time.perf_counter() - started), latencies


def report(sequential_results: dict[str, list[float]], throughput: dict[str, tuple[float, list[float]]],
           n: int) -> str:
    base50, base99 = percentiles(next(iter(sequential_results.values())))
    lines = [f"# gateway-grpc latency benchmark ({platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}, {n} sequential calls each)", "",
             "| path (concurrency 1) | p50 ms | p99 ms | added p50 ms | added p99 ms |", "|---|---|---|---|---|"]
    for name, samples in sequential_results.items():
        p50, p99 = percentiles(samples)
        lines.append(f"| {name} | {p50:.3f} | {p99:.3f} | {p50 - base50:+.3f} | {p99 - base99:+.3f} |")
    lines += ["", "| path (concurrency 16) | requests/s | p50 ms | p99 ms |", "|---|---|---|---|"]
    for name, (rate, samples) in throughput.items():
        p50, p99 = percentiles(samples)
        lines.append(f"| {name} | {rate:,.0f} | {p50:.2f} | {p99:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=2000, help="sequential calls per path (default 2000)")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--total", type=int, default=6000, help="calls per throughput run (default 6000)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="gRPC server processes (default 1)")
    args = parser.parse_args(argv)
    fake_port, port = _free_port(), _free_port()
    fake = _start([sys.executable, "-m", "tests.fakes.openai_upstream", "--port", str(fake_port), "--no-strict"])
    stack = _start([sys.executable, "-m", "gateway_grpc.cli", "up", "--port", str(port),
                    "--workers", str(args.workers)])
    try:
        fake_url = f"http://127.0.0.1:{fake_port}/v1"
        _wait_http(f"{fake_url}/models")
        _wait_http(f"http://127.0.0.1:{port}/healthz")
        seq = sequential(fake_url, port, args.n, args.warmup)
        throughput = {
            "native gRPC via Envoy": asyncio.run(_throughput_grpc(port, fake_url, args.concurrency, args.total)),
            "OpenAI REST via Envoy + edge": uvloop.run(_throughput_rest(port, fake_url, args.concurrency,
                                                                        args.total)),
        }
    finally:
        _stop(stack)
        _stop(fake)
    print(report(seq, throughput, args.n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
