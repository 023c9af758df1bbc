"""`n9s --demo` in a real terminal: it paints the demo pods, and quitting leaves no containerd, shim or mount."""
from __future__ import annotations

import glob
import os
import pty
import select
import subprocess
import sys
import tempfile
import time

import psutil
import pytest
from pty_app import readable

pytestmark = pytest.mark.node


def _demo_roots() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "n9s-demo-*")))


def _ours(roots: set[str]) -> list[str]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if any(root in cmd for root in roots):
            found.append(cmd)
    with open("/proc/self/mountinfo") as f:
        found += [line for line in f if any(root in line for root in roots)]
    return found


def _owner_pid(root: str) -> int | None:
    """The pid that started the demo node in ``root`` (other test runs may start nodes of their own meanwhile)."""
    import json

    try:
        with open(os.path.join(root, "owner.json")) as f:
            return int(json.load(f)["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def test_demo_paints_pods_then_tears_down(demo_node, tmp_path):
    # demo_node only makes the suite's prerequisites check apply; this test starts a node of its own.
    before = _demo_roots()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["XDG_STATE_HOME"] = str(tmp_path)
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [sys.executable, "-m", "n9s", "--demo", "--no-api", "--exit-after-first-paint"])
    output = b""
    created: set[str] = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        created |= {root for root in _demo_roots() - before if _owner_pid(root) == pid}
        ready = readable(fd, 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    _, status = os.waitpid(pid, 0)
    text = output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text[-2000:]
    assert "first full screen after" in text
    for name in ("web", "burn", "crash", "etcd-n9s-demo"):
        assert name in text
    assert created, "the demo node was never started"
    assert not (created & _demo_roots()), "the demo node's directory was left behind"
    assert _ours(created) == []
