"""The interactive path end to end: the terminal pump runs in a child process whose controlling terminal is a
pty we drive like a user (keys in, output out, window resizes), against the demo node's real streaming server."""
from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest
from pty_app import readable

from n9s.actions.layer import Actions, Target
from n9s.actions.audit import AuditLog
from n9s.demo import ContainerSpec, PodSpec
from n9s.demo.pods import FOREVER
from n9s.ui.flows.exec_flow import Session, attach_ended, container_io, detach_keys
from n9s.sources.cri import CriClient
from n9s.sources.exec import SessionEnd

pytestmark = pytest.mark.node

EXPECT_TIMEOUT_S = 15.0

# The child makes the pty its controlling terminal (so the kernel sends it SIGWINCH), runs the pump on its main
# thread, then reports how the session ended and whether the terminal mode came back.
CHILD = r"""
import fcntl, os, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
before = termios.tcgetattr(0)
from n9s.sources.exec import run_in_terminal
url, tty, stdin, keys = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1", bytes.fromhex(sys.argv[4])
end = run_in_terminal(url, tty=tty, stdin=stdin, hint="HINT: ctrl-] leaves", detach_keys=keys,
                      reports_exit_code=sys.argv[5] == "exec")
restored = termios.tcgetattr(0) == before
sys.stdout.write(f"\nPUMP-END exit={end.exit_code} detached={end.detached} restored={restored}\n")
sys.stdout.flush()
"""
END = re.compile(rb"PUMP-END exit=(\w+) detached=(\w+) restored=(\w+)")


def set_window(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Terminal:
    """A pty with the pump running behind it; `type()` keys, `expect()` output."""

    def __init__(self, url: str, *, tty: bool, stdin: bool, keys: bytes, rows: int = 30, cols: int = 100):
        kind = "attach" if "/attach/" in url else "exec"
        self.master, slave = os.openpty()
        set_window(self.master, rows, cols)
        self.child = subprocess.Popen(
            [sys.executable, "-c", CHILD, url, "1" if tty else "0", "1" if stdin else "0", keys.hex(), kind],
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True, close_fds=True,
        )
        os.close(slave)
        self.seen = b""

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def resize(self, rows: int, cols: int) -> None:
        set_window(self.master, rows, cols)  # the kernel sends SIGWINCH to the child's foreground group

    def expect(self, pattern: bytes | re.Pattern, timeout: float = EXPECT_TIMEOUT_S) -> re.Match:
        regex = re.compile(pattern) if isinstance(pattern, bytes) else pattern
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.seen)
            if match:
                self.seen = self.seen[match.end():]
                return match
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{regex.pattern!r} not seen; the terminal shows {self.seen[-400:]!r}")
            ready = readable(self.master, min(left, 0.5))
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # EIO: the child closed the pty
                    chunk = b""
                if not chunk and self.child.poll() is not None:
                    raise AssertionError(f"{regex.pattern!r} not seen before the pump exited: {self.seen[-400:]!r}")
                self.seen += chunk

    def end(self) -> SessionEnd:
        match = self.expect(END)
        assert self.child.wait(timeout=EXPECT_TIMEOUT_S) == 0
        assert match.group(3) == b"True", "the terminal mode was not restored"
        code = None if match.group(1) == b"None" else int(match.group(1))
        return SessionEnd(code, match.group(2) == b"True")

    def close(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait(timeout=10)
        os.close(self.master)


@pytest.fixture(scope="module")
def exec_pod(demo_node):
    """A pod of our own, so processes a test leaves behind (a detached `sleep`) never touch the shared pods."""
    spec = PodSpec(name="exec-term", namespace="n9s-test", labels={"app": "exec-term"}, containers=[
        ContainerSpec("plain", ["sleep", FOREVER]),
        ContainerSpec("talker", ["sh", "-c", "i=0; while :; do i=$((i+1)); echo out-$i; echo err-$i >&2; "
                                             "sleep 0.2; done"]),
        ContainerSpec("console", ["sh"], tty=True),
    ])
    pod = demo_node.run_pod(spec)
    cri = CriClient(str(demo_node.address))
    yield pod, cri
    cri.close()
    demo_node.remove_pod(pod)


@pytest.fixture
def terminals():
    opened: list[Terminal] = []

    def open_terminal(url: str, **kw) -> Terminal:
        term = Terminal(url, **kw)
        opened.append(term)
        return term

    yield open_terminal
    for term in opened:
        term.close()


def target_of(pod, name: str) -> Target:
    return Target(id=pod.container(name), name=name, namespace=pod.namespace, pod=pod.name)


def test_shell_session_echoes_resizes_and_returns_the_exit_code(exec_pod, terminals, tmp_path):
    pod, cri = exec_pod
    target = target_of(pod, "plain")
    actions = Actions(cri, audit=AuditLog(tmp_path / "audit.jsonl"))
    outcome, shell, url = actions.open_shell(target)
    assert outcome.ok and shell == ["sh"]
    session = Session(url, "shell", "n9s-test/exec-term/plain", tty=True, forward_keys=True, target=target)
    term = terminals(url, tty=True, stdin=True, keys=detach_keys(session), rows=30, cols=100)
    term.expect(rb"HINT: ctrl-\] leaves")
    term.expect(rb"# ")

    term.type(b"echo hello-$((6*7))\r")
    term.expect(rb"\r\nhello-42\r\n")  # the result, not the echoed command line

    term.type(b"stty size\r")
    term.expect(rb"\r\n29 100\r\n")  # the size sent right after connecting, less the status line on top

    term.resize(40, 120)
    # The runtime applies a resize on its own goroutine; ask until the new size shows (bounded).
    for _ in range(50):
        term.type(b"stty size\r")
        if term.expect(rb"\r\n(\d+ \d+)\r\n").group(1) == b"39 120":
            break
    else:
        pytest.fail("the container's terminal never reported the new size 39 120")

    term.type(b"exit 7\r")
    assert term.end() == SessionEnd(7, False)


def test_ctrl_close_bracket_leaves_a_session_that_would_hang(exec_pod, terminals):
    pod, cri = exec_pod
    url = cri.exec_url(pod.container("plain"), ["sh"], tty=True, stdin=True)
    term = terminals(url, tty=True, stdin=True, keys=b"\x1d")
    term.expect(rb"# ")
    term.type(b"sleep 1000\r")
    term.expect(rb"sleep 1000\r\n")
    term.type(b"\x1d")
    end = term.end()
    assert end.detached and end.exit_code is None


def test_ctrl_c_reaches_the_container_in_a_tty_shell(exec_pod, terminals):
    pod, cri = exec_pod
    url = cri.exec_url(pod.container("plain"), ["sh"], tty=True, stdin=True)
    term = terminals(url, tty=True, stdin=True, keys=b"\x1d")
    term.expect(rb"# ")
    term.type(b"sleep 1234\r")
    # ctrl-c typed before the shell has made the sleep its foreground job would be lost on the shell itself
    deadline = time.monotonic() + EXPECT_TIMEOUT_S
    while b"sleep 1234" not in cri.exec_sync(pod.container("plain"), ["ps", "-o", "args"]).stdout:
        assert time.monotonic() < deadline, "the sleep never started"
        time.sleep(0.05)
    term.type(b"\x03")  # SIGINT to the sleep, through the container's terminal; the session goes on
    term.expect(rb"# ")
    assert b"sleep 1234" not in cri.exec_sync(pod.container("plain"), ["ps", "-o", "args"]).stdout
    term.type(b"exit 0\r")
    assert term.end() == SessionEnd(0, False)


def test_attach_with_stdin_to_a_tty_process_and_its_exit_code_from_the_status(exec_pod, terminals, tmp_path):
    pod, cri = exec_pod
    target = target_of(pod, "console")
    io = container_io(cri, target.id)
    assert io.tty and io.stdin_open
    outcome, url = Actions(cri, audit=AuditLog(tmp_path / "audit.jsonl")).attach_url(target, stdin=True, tty=True)
    assert outcome.ok
    session = Session(url, "attach", "console", tty=True, forward_keys=True, target=target)
    term = terminals(url, tty=True, stdin=True, keys=detach_keys(session))
    term.type(b"echo attached-$((2+3))\r")
    term.expect(rb"\r\nattached-5\r\n")
    term.type(b"exit 5\r")  # ends the container's main process
    end = term.end()
    assert not end.detached and end.exit_code is None  # attach's status channel has no exit code
    deadline = time.monotonic() + EXPECT_TIMEOUT_S
    while cri.container_status(target.id).state != "EXITED" and time.monotonic() < deadline:
        time.sleep(0.05)
    message, severity = attach_ended(cri, target, "console", end)
    assert message == "console exited with code 5" and severity == "warning"


def test_read_only_attach_shows_stdout_and_stderr_and_ctrl_c_detaches(exec_pod, terminals):
    pod, cri = exec_pod
    target = target_of(pod, "talker")
    io = container_io(cri, target.id)
    assert not io.tty and not io.stdin_open
    url = cri.attach_url(target.id, tty=False, stdin=False)
    session = Session(url, "attach", "talker", tty=False, forward_keys=False, target=target)
    term = terminals(url, tty=False, stdin=False, keys=detach_keys(session))
    term.expect(rb"out-\d+\r\n")  # output newline translation stays on for a non-TTY stream
    term.expect(rb"err-\d+\r\n")
    term.type(b"\x03")
    assert term.end() == SessionEnd(None, True)
    assert cri.container_status(target.id).state == "RUNNING"
    message, _ = attach_ended(cri, target, "talker", SessionEnd(None, True))
    assert message == "detached from talker; it keeps running"
