"""SIGTERM and SIGHUP end n9s in every state, and so does losing its terminal: the TUI on the node, the TUI while the
runtime has stopped answering, remote mode through the API alone, `dump`, and the demo (while it starts and while
its TUI runs, the demo node torn down either way). The real `n9s` runs on a pseudo-terminal; after the TUI ends the
terminal is back in its normal modes (echo, line editing) and off the alternate screen. The time limits are hang
guards, shorter than any runtime deadline n9s could be waiting on (5 s per call, 30 s in the demo node)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from kube_fake.manifests import node_manifest, pod_manifest
from kube_fake.server import FakeKube
from slow_proxy import SlowProxy
from test_cli_demo import _demo_roots, _ours, _owner_pid

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ lives beside tests/
from bench.pty_run import LEAVE_ALT_SCREEN, PtyN9s  # noqa: E402

EXIT_WITHIN_S = 10.0
HOW = ["SIGTERM", "SIGHUP", "hangup"]
ENTER_ALT_SCREEN = b"\x1b[?1049h"


def started(args: list[str], tmp_path: Path, **env: str) -> PtyN9s:
    return PtyN9s([*args, "--log-file", str(tmp_path / "n9s.log")],
                  env={"XDG_STATE_HOME": str(tmp_path / "state"), "N9S_CONFIG": str(tmp_path / "none.toml"),
                       "N9S_READONLY": "", **env}).start()


def wait_for_text(pty: PtyN9s, text: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in pty.plain_text():
            return
        assert pty.proc.poll() is None, f"n9s ended ({pty.proc.returncode}): {pty.plain_text()[-600:]!r}"
        time.sleep(0.1)
    raise AssertionError(f"never saw {text!r}: {pty.plain_text()[-800:]!r}")


def end_it(pty: PtyN9s, how: str, within_s: float = EXIT_WITHIN_S) -> int:
    """Signal n9s (or hang its terminal up); the exit code once it has ended, checking the terminal it left."""
    if how == "hangup":
        pty.hang_up()
    else:
        pty.proc.send_signal(getattr(signal, how))
    try:
        code = pty.proc.wait(timeout=within_s)
    except subprocess.TimeoutExpired:
        pty.proc.kill()
        pty.proc.wait()
        raise AssertionError(f"n9s still ran {within_s:g}s after {how}") from None
    if how != "hangup":
        lflag = pty.terminal_modes()[3]
        pty.wait(timeout=5)  # the rest of what it wrote
        assert lflag & termios.ECHO and lflag & termios.ICANON, "the terminal was left in raw mode"
        out = b"".join(c.data for c in pty.chunks)
        assert out.rfind(ENTER_ALT_SCREEN) < out.rfind(LEAVE_ALT_SCREEN) or ENTER_ALT_SCREEN not in out, \
            "left on the alternate screen"
    return code


def expected(how: str) -> int:
    return 128 + (signal.SIGHUP if how == "hangup" else getattr(signal, how))


@pytest.mark.node
@pytest.mark.parametrize("how", HOW)
def test_the_tui_on_the_node_ends(how, demo_node, tmp_path):
    pty = started(["--address", str(demo_node.address), "--pods-dir", str(demo_node.pods_dir), "--no-api"],
                  tmp_path)
    try:
        wait_for_text(pty, "graceful")
        assert end_it(pty, how) == expected(how)
    finally:
        pty.stop()


@pytest.mark.node
@pytest.mark.parametrize("how", HOW)
def test_the_tui_ends_while_the_runtime_does_not_answer(how, demo_node, tmp_path):
    with SlowProxy(str(demo_node.address), listen=str(tmp_path / "silent.sock")) as proxy:
        pty = started(["--address", str(tmp_path / "silent.sock"), "--pods-dir", str(demo_node.pods_dir),
                       "--no-api", "--refresh", "0.5"], tmp_path)
        try:
            wait_for_text(pty, "graceful")
            proxy.delay = 3600.0  # from now on nothing the runtime says arrives
            wait_for_text(pty, "refresh running for")
            assert end_it(pty, how) == expected(how)
        finally:
            pty.stop()


@pytest.mark.parametrize("how", HOW)
def test_remote_mode_ends(how, tmp_path):
    with FakeKube(pods=[pod_manifest("default", "far-away-web", node="node-1")],
                  nodes=[node_manifest("node-1")]) as fake:
        kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
        pty = started(["--kubeconfig", str(kubeconfig), "--node", "node-1", "--address",
                       str(tmp_path / "no-runtime.sock")], tmp_path)
        try:
            wait_for_text(pty, "far-away-web")
            assert end_it(pty, how) == expected(how)
        finally:
            pty.stop()


@pytest.mark.node
@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP"])
def test_dump_ends_while_the_runtime_does_not_answer(how, demo_node, tmp_path):
    with SlowProxy(str(demo_node.address), listen=str(tmp_path / "silent.sock"), delay=3600.0):
        proc = subprocess.Popen([sys.executable, "-m", "n9s", "--address", str(tmp_path / "silent.sock"), "dump"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env={**os.environ, "XDG_STATE_HOME": str(tmp_path), "N9S_READONLY": ""})
        time.sleep(1.5)  # well into its first call (whose deadline is 5 s)
        assert proc.poll() is None
        proc.send_signal(getattr(signal, how))
        proc.communicate(timeout=EXIT_WITHIN_S)
        assert proc.returncode == -getattr(signal, how)  # the signal ended it, not the call's deadline


def _demo_of(pid: int, before: set[str]) -> set[str]:
    return {root for root in _demo_roots() - before if _owner_pid(root) == pid}


@pytest.mark.node
def test_the_demo_ends_on_sigterm_while_it_starts_and_tears_its_node_down(demo_node, tmp_path):
    # demo_node makes the suite's prerequisites apply; the demo starts a node of its own.
    before = _demo_roots()
    pty = started(["--demo", "--no-api"], tmp_path)
    try:
        wait_for_text(pty, "starting a demo node", timeout=60)
        deadline = time.monotonic() + 60
        while not _demo_of(pty.pid, before) and time.monotonic() < deadline:
            time.sleep(0.1)
        created = _demo_of(pty.pid, before)
        assert created, "the demo node was never started"
        # Its teardown (pods, containerd, mounts) is not bounded by a second; the guard is only against a hang.
        assert end_it(pty, "SIGTERM", within_s=60) == 143
        assert not (created & _demo_roots()) and _ours(created) == []
    finally:
        pty.stop()


@pytest.mark.node
def test_the_demo_ends_when_its_terminal_goes_away_and_tears_its_node_down(demo_node, tmp_path):
    before = _demo_roots()
    pty = started(["--demo", "--no-api"], tmp_path)
    try:
        wait_for_text(pty, "graceful", timeout=90)
        created = _demo_of(pty.pid, before)
        assert created
        assert end_it(pty, "hangup", within_s=60) == 129
        assert not (created & _demo_roots()) and _ours(created) == []
    finally:
        pty.stop()


STUCK_WORKER_APP = r"""
import sys, threading
from textual.app import App
from n9s.ui.app import AppConfig
from n9s.ui.launch import run_app

class Stuck(App):
    config = AppConfig()
    first_paint_at = None

    def on_mount(self):
        self.run_worker(threading.Event().wait, thread=True)  # a call that never returns
        self.set_timer(0.5, self.quit)

    def quit(self):
        open(sys.argv[1], "w").close()
        self.exit()

sys.exit(run_app(Stuck()))
"""


def test_a_worker_stuck_in_a_call_does_not_hold_n9s_open(tmp_path):
    """Textual runs thread workers in the event loop's executor, which the loop's end and the interpreter's exit
    both wait for: a worker stuck in a call (a runtime deadline, a stream) held n9s open after it had quit."""
    quitting = tmp_path / "quitting"
    pty = PtyN9s([str(quitting)], program=[sys.executable, "-c", STUCK_WORKER_APP]).start()
    try:
        try:
            code = pty.proc.wait(timeout=EXIT_WITHIN_S)
        except subprocess.TimeoutExpired:
            code = None
        assert quitting.exists()
        assert code == 0, "still running after the app quit"
    finally:
        pty.stop()


STUCK_LOOP_APP = r"""
import sys, time
from textual.app import App
from n9s.ui.app import AppConfig
from n9s.ui.launch import run_app

class Stuck(App):
    config = AppConfig()
    first_paint_at = None

    def on_mount(self):
        self.set_timer(0.5, self.hang)

    def hang(self):
        open(sys.argv[1], "w").close()
        time.sleep(3600)  # the UI thread stuck: the app cannot run its own teardown

sys.exit(run_app(Stuck()))
"""


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP"])
def test_a_stuck_ui_still_ends_on_a_signal_and_gives_the_terminal_back(how, tmp_path):
    stuck = tmp_path / "stuck"
    pty = PtyN9s([str(stuck)], program=[sys.executable, "-c", STUCK_LOOP_APP]).start()
    try:
        deadline = time.monotonic() + 30
        while not stuck.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stuck.exists()
        assert end_it(pty, how) == expected(how)
    finally:
        pty.stop()
