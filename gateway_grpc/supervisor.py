"""Runs a local stack as child processes (gRPC workers, the edge, Envoy): start in order, wait until each is ready,
stop in reverse order, and report the first one that dies. Knows only each process's command line and readiness
probe (docs/architecture.md, Processes), never its internals.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

READY_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.1
STOP_GRACE_S = 10.0
TAIL_LINES = 20
_LINE_LIMIT = 1 << 20
# Loopback probes must not go through a proxy from the environment.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_GRPC_OPTIONS = (("grpc.enable_http_proxy", 0),)


class StackFailed(Exception):
    """A child died or never became ready; `message` says which and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port (SO_REUSEADDR: a TIME_WAIT leftover does not count)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """`count` distinct ports the kernel reports free right now (all held open until every one is chosen)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in socks:
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in socks]


class Child:
    """One child process in its own process group; its output is echoed with a `[name]` prefix and its tail kept."""

    def __init__(self, name: str, argv: Sequence[str]) -> None:
        self.name = name
        self.argv = list(argv)
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.process: asyncio.subprocess.Process | None = None
        self._pump: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    async def start(self) -> None:
        # A new session (and process group): Ctrl-C in the terminal reaches the supervisor alone.
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True, limit=_LINE_LIMIT,
        )
        self._pump = asyncio.create_task(self._echo(self.process.stdout))

    async def _echo(self, stream: asyncio.StreamReader | None) -> None:
        assert stream is not None
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # a line longer than the limit: take what is buffered
                line = await stream.read(_LINE_LIMIT)
            if not line:
                return
            text = line.decode(errors="replace").rstrip("\n")
            self.tail.append(text)
            # If whoever read our output is gone, keep draining the child's pipe; just stop echoing.
            with contextlib.suppress(OSError):
                print(f"[{self.name}] {text}", file=sys.stderr, flush=True)

    def describe_exit(self) -> str:
        code = self.returncode
        how = f"exited with code {code}"
        if code is not None and code < 0:
            how += f" (killed by {signal.Signals(-code).name})"
        lines = "\n".join(f"    {line}" for line in self.tail) or "    (no output)"
        return f"{self.name} (pid {self.pid}) {how}; its last output:\n{lines}"

    async def stop(self, grace: float) -> None:
        """SIGTERM to the whole group, SIGKILL after `grace` seconds; returns once the process is reaped."""
        if self.process is None:
            return
        if self.process.returncode is None:
            _signal_group(self.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                print(f"gateway: {self.name} ignored SIGTERM for {grace:g}s; killing it", file=sys.stderr)
        _signal_group(self.pid, signal.SIGKILL)  # also reaps anything the child left in its group
        await self.process.wait()
        if self._pump is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._pump, 1.0)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def wait_ready(child: Child, probe: Callable[[], Awaitable[bool]], what: str,
                     timeout: float = READY_TIMEOUT_S, watch: Sequence[Child] = ()) -> None:
    """Polls `probe` until it returns True; StackFailed if `child` (or one in `watch`) exits first or `timeout`
    passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        gone = next((c for c in (child, *watch) if c.returncode is not None), None)
        if gone is not None:
            raise StackFailed(f"gateway: {gone.describe_exit()}")
        if await probe():
            return
        if loop.time() > deadline:
            raise StackFailed(f"gateway: {child.name} (pid {child.pid}) was not ready ({what}) after {timeout:g}s")
        await asyncio.sleep(POLL_INTERVAL_S)


async def grpc_serving(target: str, service: str = "") -> bool:
    """True when grpc.health.v1 answers SERVING for `service` at `target`."""
    async with grpc.aio.insecure_channel(target, options=_GRPC_OPTIONS) as channel:
        request = health_pb2.HealthCheckRequest(service=service)
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(request, timeout=1.0)
        except grpc.aio.AioRpcError:
            return False
    return reply.status == health_pb2.HealthCheckResponse.SERVING


def _http_get(url: str) -> tuple[int, bytes]:
    try:
        with _HTTP.open(url, timeout=1.0) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


async def http_answers(url: str, body: bytes | None = None) -> bool:
    """True when GET `url` answers 200 (and exactly `body`, stripped, when given)."""
    status, payload = await asyncio.to_thread(_http_get, url)
    return status == 200 and (body is None or payload.strip() == body)


@dataclass(frozen=True, slots=True)
class Stage:
    """Children started together, then probed; stopped together, with `grace` seconds to exit."""

    children: tuple[Child, ...]
    probes: tuple[Callable[[], Awaitable[bool]], ...]
    what: str
    grace: float = STOP_GRACE_S


class Stack:
    """Stages start in order, each ready before the next starts; they stop in reverse order."""

    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = list(stages)
        self.started: list[Stage] = []

    @property
    def children(self) -> list[Child]:
        return [child for stage in self.stages for child in stage.children]

    async def start(self) -> None:
        for stage in self.stages:
            self.started.append(stage)
            for child in stage.children:
                await child.start()
            running = [child for started in self.started for child in started.children]
            await _all_ready(wait_ready(child, probe, stage.what, watch=running)
                             for child, probe in zip(stage.children, stage.probes, strict=True))

    async def stop(self) -> None:
        while self.started:
            stage = self.started.pop()
            await asyncio.gather(*(child.stop(stage.grace) for child in stage.children))

    async def first_exit(self) -> Child:
        """Waits until any child exits; returns it."""
        waits = {asyncio.create_task(child.process.wait()): child for child in self.children if child.process}
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
        return waits[next(iter(done))]


async def _all_ready(waits: Iterable[Awaitable[None]]) -> None:
    """Awaits every wait; on the first failure cancels the rest and raises it."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()


async def _until_stopped(work: Awaitable[object], stop: asyncio.Event) -> bool:
    """Runs `work` unless `stop` is set first (then cancels it); True when `work` finished."""
    work_task = asyncio.ensure_future(work)
    stop_task = asyncio.create_task(stop.wait())
    await asyncio.wait({work_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    stop_task.cancel()
    if not work_task.done():
        work_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work_task
        return False
    work_task.result()
    return True


# SIGHUP too: a closed terminal must not kill the supervisor alone and orphan its children (own sessions).
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


async def supervise(stack: Stack, on_ready: Callable[[], None]) -> int:
    """Starts `stack`, calls `on_ready`, and runs until SIGINT/SIGTERM (exit 0) or a child dies (exit 1)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        if not await _until_stopped(stack.start(), stop):
            return 0
        on_ready()
        died: list[Child] = []
        if await _until_stopped(_record(stack.first_exit(), died), stop):
            print(f"gateway: {died[0].describe_exit()}\ngateway: stopping the other processes", file=sys.stderr)
            return 1
        return 0
    except StackFailed as exc:
        print(exc.message, file=sys.stderr)
        return 1
    finally:
        await stack.stop()
        for sig in _STOP_SIGNALS:
            loop.remove_signal_handler(sig)


async def _record(work: Awaitable[Child], into: list[Child]) -> None:
    into.append(await work)
