"""Drives `gateway up` as a subprocess for end-to-end tests: start, wait for the banner, signal, check nothing is left.
Also a proxy-free loopback HTTP helper (the tests' only HTTP client)."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

READY_LINE = "gateway ready"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 40.0  # the supervisor gives workers grace_period_s (10 s) + 5 s, Envoy and edge 10 s each
_PID_LINE = re.compile(r"^  (?P<name>\S.*?)\s{2,}.*\(pid (?P<pid>\d+)\)$")
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))
TAG_VARIABLE = "GATEWAY_E2E_STACK"  # set for each launched stack; every process it starts inherits it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def gateway_command(*args: str) -> list[str]:
    """The `gateway` console script's entry point, run with this interpreter."""
    return [sys.executable, "-m", "gateway_grpc.cli", *args]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Response:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _HTTP.open(request, timeout=10) as reply:
            return Response(reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())


def tagged_processes(tag: str) -> list[int]:
    """Pids of live (non-zombie) processes whose environment holds TAG_VARIABLE=tag."""
    needle = f"{TAG_VARIABLE}={tag}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = pathlib.Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            state = pathlib.Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ and state != b"Z":
            found.append(int(entry))
    return found


def group_alive(pgid: int) -> bool:
    """True while any process is left in the process group (each child of the supervisor leads its own)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class RunningStack:
    """One `gateway up` process; `pids` maps the banner's process names ("gRPC worker 1", "edge", "envoy") to pids."""

    process: subprocess.Popen
    port: int
    tag: str
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    pids: dict[str, int] = field(default_factory=dict)
    readers: list[threading.Thread] = field(default_factory=list, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def rest_url(self) -> str:
        return f"{self.base_url}/v1/gateway/"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        line = next(line for line in self.stdout if " admin " in line)
        return re.search(r"admin (http://\S+?)/? ", line).group(1)

    def output(self) -> str:
        return "--- stdout\n" + "\n".join(self.stdout) + "\n--- stderr\n" + "\n".join(self.stderr)

    def wait_exit(self, timeout: float = STOP_TIMEOUT_S) -> int:
        code = self.process.wait(timeout)
        self._readers_done(timeout=5)
        return code

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Sends `sig` to the supervisor's process group, as a terminal's Ctrl-C does; returns the exit code.
        The supervisor leads its own group (start_new_session) and each child leads another, so only it gets `sig`."""
        os.killpg(self.process.pid, sig)
        return self.wait_exit()

    def survivors(self) -> dict[str, int]:
        """What is still running from this stack: banner processes by name, anything else by `pid N`."""
        left = {name: pid for name, pid in self.pids.items() if group_alive(pid)}
        others = set(tagged_processes(self.tag)) - set(left.values()) - {self.process.pid}
        return left | {f"pid {pid}": pid for pid in sorted(others)}

    def force_stop(self) -> None:
        """Cleanup after a failed test: SIGTERM, then SIGKILL for the supervisor and every child group."""
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(STOP_TIMEOUT_S)
        for pid in [*self.survivors().values(), self.process.pid]:
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    kill(pid, signal.SIGKILL)
        self.process.wait()

    def _readers_done(self, timeout: float) -> None:
        for thread in self.readers:
            thread.join(timeout)

    def is_ready(self) -> bool:
        return any(line.startswith(READY_LINE) for line in self.stdout)


def _pump(stream, into: list[str], ready: threading.Event | None) -> None:
    for line in stream:
        into.append(line.rstrip("\n"))
        if ready is not None and line.startswith(READY_LINE):
            ready.set()
    if ready is not None:
        ready.set()  # EOF: the process is gone; the caller finds out why


def launch(*args: str, port: int | None = None, wait: bool = True) -> RunningStack:
    """Starts `gateway up --port PORT ARGS`; with `wait`, returns once the ready banner is out (else fails loudly)."""
    port = free_port() if port is None else port
    tag = uuid.uuid4().hex
    process = subprocess.Popen(gateway_command("up", "--port", str(port), *args), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True,
                               env={**os.environ, TAG_VARIABLE: tag})
    stack = RunningStack(process, port, tag)
    ready = threading.Event()
    stack.readers = [threading.Thread(target=_pump, args=(process.stdout, stack.stdout, ready), daemon=True),
                     threading.Thread(target=_pump, args=(process.stderr, stack.stderr, None), daemon=True)]
    for thread in stack.readers:
        thread.start()
    if wait:
        started = time.monotonic()
        ready.wait(START_TIMEOUT_S)
        if not stack.is_ready() or process.poll() is not None:
            stack.force_stop()
            raise AssertionError(f"gateway up was not ready after {time.monotonic() - started:.1f}s "
                                 f"(exit {process.returncode})\n{stack.output()}")
        stack.pids = {m["name"]: int(m["pid"]) for m in map(_PID_LINE.match, stack.stdout) if m}
    return stack


def stop_and_check(stack: RunningStack) -> None:
    """Stop a still-running stack with SIGTERM; assert exit code 0 and that no child survives (forcing them down)."""
    if stack.process.poll() is not None:
        return
    code = stack.stop(signal.SIGTERM)
    survivors = stack.survivors()
    if code != 0 or survivors:
        stack.force_stop()
    assert code == 0, f"gateway up exited {code} on SIGTERM\n{stack.output()}"
    assert not survivors, f"left running: {survivors}\n{stack.output()}"
