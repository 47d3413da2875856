"""Fixtures that run the real stack (`gateway up`: gRPC workers, edge, Envoy from the wheel) as processes.

`gateway_stack` is one stack for the session; `launch_stack` starts extra ones for tests that stop or break them.
Both check on teardown that the supervisor left no child process behind.
"""

from __future__ import annotations

import pytest

from tests.e2e.stack import RunningStack, launch, stop_and_check


@pytest.fixture(scope="session")
def gateway_stack() -> RunningStack:
    """A running `gateway up --port <free>` for the whole session (1 worker, default settings).

    Teardown stops it with SIGTERM and asserts exit code 0 and that no child process survives.
    """
    stack = launch()
    try:
        yield stack
    finally:
        stop_and_check(stack)


@pytest.fixture
def launch_stack():
    """`launch_stack(*args, port=None, wait=True) -> RunningStack`: a fresh `gateway up`, force-stopped after the test
    if the test left it running."""
    stacks: list[RunningStack] = []

    def start(*args: str, port: int | None = None, wait: bool = True) -> RunningStack:
        stacks.append(launch(*args, port=port, wait=wait))
        return stacks[-1]

    yield start
    for stack in stacks:
        if stack.process.poll() is None or stack.survivors():
            stack.force_stop()
