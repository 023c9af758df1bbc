"""Shared fixtures. `demo_node`: one real containerd node with the default demo pods for the whole session.

Tests that need a real node are marked `@pytest.mark.node`. Where the node can't run (no containerd, runc, ctr,
busybox-static, or not root) they are skipped with the reason; with N9S_REQUIRE_NODE=1 they fail instead.
"""
from __future__ import annotations

import functools
import os
import signal
import warnings

import pytest

from n9s.demo import DemoNode, NodeUnavailable, default_pods, missing_prerequisites

REQUIRE_NODE_ENV = "N9S_REQUIRE_NODE"

_session_node: DemoNode | None = None


@functools.cache
def _node_missing() -> str:
    return "; ".join(missing_prerequisites())


def _skip_or_fail(reason: str) -> None:
    if os.environ.get(REQUIRE_NODE_ENV) == "1":
        pytest.fail(f"the demo node is required ({REQUIRE_NODE_ENV}=1) but cannot run: {reason}", pytrace=False)
    pytest.skip(f"demo node unavailable: {reason}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("node") is not None or "demo_node" in getattr(item, "fixturenames", ()):
        missing = _node_missing()
        if missing:
            _skip_or_fail(missing)


def pytest_runtest_teardown(item: pytest.Item) -> None:
    # A fault test may stop containerd; bring it back so later tests find a working node.
    node = _session_node
    if node is not None and "demo_node" in getattr(item, "fixturenames", ()) and node.containerd_pid is None:
        node.start_containerd()


def _interrupt_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # pytest then runs the fixture teardown


@pytest.fixture(scope="session")
def demo_node():
    """A started DemoNode running default_pods(); torn down (pods, containerd, mounts, cgroups) at the end."""
    global _session_node
    missing = _node_missing()
    if missing:
        _skip_or_fail(missing)
    previous = signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    node = DemoNode()
    try:
        try:
            node.start()
        except NodeUnavailable as e:
            _skip_or_fail(str(e))
        node.run_pods(default_pods())
        _session_node = node
        yield node
    finally:
        _session_node = None
        problems = node.stop()
        signal.signal(signal.SIGTERM, previous)
        if problems:
            warnings.warn("demo node teardown: " + "; ".join(problems), stacklevel=1)
