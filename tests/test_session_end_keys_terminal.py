"""Keys typed while a shell session ends, or while it fails to open, are the session's: on the real `n9s` in a pty,
none of them may act on n9s when its screen comes back (ctrl-d Enter removing a pod, space marking rows, `s`
starting an exec into another pod). Each test makes its own pod."""
from __future__ import annotations

import re
import shutil
import socket
import tempfile
import threading
import time
from types import SimpleNamespace

import pytest
from slow_proxy import SlowProxy
from test_actions_node import SLEEPER, fresh_pod
from test_keys_burst_terminal import crumb, n9s_on_pty

from n9s.actions.audit import AuditLog
from n9s.ui.screens.session_ended import QUIET_S
from n9s.sources.cri import CriClient

pytestmark = pytest.mark.node

# Keys of a user who thinks the shell is still there, or hammers keys while it goes: each would act on the pods
# view (ctrl-d opens Remove, Enter or space confirms or marks, `s` opens another shell).
STRAY = b"\x04\x04\r s"
BACK_TIMEOUT_S = 30.0


@pytest.fixture
def cri(demo_node):
    client = CriClient(str(demo_node.address))
    yield client
    client.close()


@pytest.fixture
def pod(demo_node):
    made = fresh_pod(demo_node, "keysend", sleeper=SLEEPER)
    yield made
    demo_node.remove_pod(made)


@pytest.fixture
def short_dir():
    path = tempfile.mkdtemp(prefix="n9s-keys-", dir="/tmp")  # unix socket paths must stay under 108 bytes
    yield path
    shutil.rmtree(path, ignore_errors=True)


def open_pods_view_on(screen, pod) -> None:
    screen.expect(crumb("pods"))
    screen.expect(pod.name.encode())
    screen.type(f"/{pod.name}\r".encode())
    screen.expect(rb"/" + pod.name.encode())  # the filter leaves the pod alone, under the cursor


def type_stray_keys_until(screen, pattern: bytes) -> int:
    """Write STRAY again and again, as fast as the terminal takes it, until `pattern` is painted, or the pods
    view is (then a stray key may have started something that would never paint it)."""
    deadline = time.monotonic() + BACK_TIMEOUT_S
    writes = 0
    while not (screen.shows(pattern) or screen.shows(crumb("pods"))):
        assert time.monotonic() < deadline, \
            f"{pattern!r} never painted; the screen ends with {screen.plain_transcript()[-1500:]!r}"
        screen.type(STRAY)
        writes += 1
        screen.read_for(0.01)
    return writes


def nothing_acted(screen, pod, cri, audit: AuditLog, records_before: list) -> None:
    screen.read_for(2 * QUIET_S)  # what a stray key set off would have begun by now
    assert cri.pod_sandbox_status(pod.sandbox_id).sandbox.state == "READY"
    assert [c.id for c in cri.list_containers() if c.pod_sandbox_id == pod.sandbox_id] == \
        [pod.container("sleeper")]
    assert audit.entries() == records_before  # no second exec, no stop, no removal
    painted = screen.plain_transcript()
    assert painted.count(b"n9s: shell in") <= 1  # no second session
    assert b"marked:" not in painted  # no row was marked
    assert b"Remove pod" not in painted  # the dialog never opened


def go_on_and_quit(screen) -> None:
    """A deliberate key after a quiet moment closes the screen that held the keys back; then `q` quits."""
    screen.read_for(2 * QUIET_S)
    screen.type(b"\x12")  # ctrl-r (refresh): harmless if it reached the table
    screen.expect(crumb("pods"))  # the pods view is drawn again, no longer under the held-keys screen
    screen.type(b"q")
    assert screen.exit_code() == 0


def test_keys_typed_as_a_shell_ends_never_act_on_n9s(demo_node, pod, cri, tmp_path):
    audit = AuditLog(tmp_path / "audit.jsonl")
    screen = n9s_on_pty(demo_node, tmp_path)
    try:
        open_pods_view_on(screen, pod)
        screen.type(b"s")
        screen.expect(rb"n9s: shell in " + re.escape(f"{pod.namespace}/{pod.name}/sleeper".encode()))
        screen.expect(rb"# ")
        records = audit.entries()
        assert [e["action"] for e in records][-1] == "shell"
        screen.type(b"exit\r")
        type_stray_keys_until(screen, rb"ended with exit code")
        nothing_acted(screen, pod, cri, audit, records)
        assert screen.shows(rb"Press any key to go back to n9s")
        go_on_and_quit(screen)
    finally:
        screen.close()


class HeldPort:
    """A loopback port that accepts connections and answers nothing until `release()` closes them."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.connected = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name="held-port").start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted.append(conn)
            self.connected.set()

    def release(self) -> None:
        for conn in self.accepted:
            conn.close()

    def close(self) -> None:
        self.release()
        self.server.close()


def stream_url_to(port: int):
    """A rewrite for the runtime's answers: the exec URL's port becomes `port` (of the same length)."""
    url = re.compile(rb"(https?://127\.0\.0\.1:)(\d+)(/(?:exec|attach)/)")

    def rewrite(chunk: bytes) -> bytes:
        def to_port(match: re.Match) -> bytes:
            assert len(match.group(2)) == len(str(port)), "the held port must be as long as the runtime's"
            return match.group(1) + str(port).encode() + match.group(3)

        return url.sub(to_port, chunk)

    return rewrite


def test_keys_typed_while_a_shell_fails_to_open_never_act_on_n9s(demo_node, pod, cri, tmp_path, short_dir):
    audit = AuditLog(tmp_path / "audit.jsonl")
    held = HeldPort()
    seen_urls: list[bytes] = []
    rewrite = stream_url_to(held.port)

    def watch(chunk: bytes) -> bytes:
        if b"/exec/" in chunk:
            seen_urls.append(chunk[max(0, chunk.find(b"/exec/") - 40):][:80])
        return rewrite(chunk)

    proxy = SlowProxy(str(demo_node.address), listen=f"{short_dir}/ctd.sock", rewrite=watch)
    proxy.start()
    node = SimpleNamespace(address=f"{short_dir}/ctd.sock", pods_dir=demo_node.pods_dir)  # n9s goes through the proxy
    screen = n9s_on_pty(node, tmp_path)
    try:
        open_pods_view_on(screen, pod)
        screen.type(b"s")
        # n9s has lent the terminal to the session and waits for the streaming server, which never answers.
        deadline = time.monotonic() + BACK_TIMEOUT_S
        while not held.connected.is_set():  # reading on: n9s blocks on a terminal nobody reads
            assert time.monotonic() < deadline, \
                f"n9s never connected to the exec stream; {seen_urls} went by; the screen ends with " \
                f"{screen.plain_transcript()[-1500:]!r}"
            screen.read_for(0.05)
        screen.seen = b""  # what was painted before the terminal was lent (the transcript keeps it)
        records = audit.entries()
        for _ in range(5):
            screen.type(STRAY)
            screen.read_for(0.05)
        held.release()  # the stream cannot be opened
        type_stray_keys_until(screen, rb"cannot reach the runtime's streaming server")
        nothing_acted(screen, pod, cri, audit, records)
        assert len(held.accepted) == 1  # no second exec
        go_on_and_quit(screen)
    finally:
        screen.close()
        proxy.stop()
        held.close()
