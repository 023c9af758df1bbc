"""The whole app on a real terminal (a pty): `s` suspends the TUI, the shell gets the terminal, and on exit the
TUI comes back with the exit code in a notification."""
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

from n9s.audit import AuditLog

pytestmark = pytest.mark.node

EXPECT_TIMEOUT_S = 20.0
CSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]")

CHILD = r"""
import fcntl, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
from n9s.cli import main
sys.exit(main(sys.argv[1:]))
"""


class Screen:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 150, 0, 0))
        self.child = subprocess.Popen([sys.executable, "-c", CHILD, *argv], stdin=slave, stdout=slave, stderr=slave,
                                      start_new_session=True, close_fds=True, env=env)
        os.close(slave)
        self.seen = b""

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def expect(self, pattern: bytes) -> bytes:
        """Wait for `pattern` in the output with the terminal's control sequences taken out; drop what was
        matched and everything before it."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + EXPECT_TIMEOUT_S
        while True:
            plain = CSI.sub(b"", self.seen)
            match = regex.search(plain)
            if match:
                self.seen = b""
                return match.group(0)
            left = deadline - time.monotonic()
            if left <= 0 or self.child.poll() is not None and not select.select([self.master], [], [], 0)[0]:
                raise AssertionError(f"{pattern!r} not seen; the screen ends with {plain[-600:]!r}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    pass

    def exit_code(self, timeout: float = EXPECT_TIMEOUT_S) -> int:
        # Keep reading while n9s ends: a terminal nobody reads fills up and blocks its writes.
        deadline = time.monotonic() + timeout
        while self.child.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"n9s did not exit; the screen ends with {CSI.sub(b'', self.seen)[-600:]!r}")
            if select.select([self.master], [], [], 0.2)[0]:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    pass
        return self.child.returncode

    def close(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait(timeout=10)
        os.close(self.master)


def test_s_hands_the_terminal_to_a_shell_and_comes_back_with_the_exit_code(demo_node, tmp_path):
    env = dict(os.environ, TERM="xterm-256color", XDG_STATE_HOME=str(tmp_path),
               N9S_AUDIT_LOG=str(tmp_path / "audit.jsonl"))
    screen = Screen(["--address", str(demo_node.address), "--pods-dir", str(demo_node.pods_dir),
                     "--view", "containers", "--refresh", "30"], env)
    try:
        screen.expect(rb"logger")
        screen.type(b"/")
        screen.expect(rb"/ regex")
        screen.type(b"logger\r")
        screen.expect(rb"/logger")  # the filter leaves one row, under the cursor
        screen.type(b"s")
        screen.expect(rb"n9s: shell in default/web/logger\. exit, or ctrl-\] to leave")
        screen.expect(rb"# ")
        screen.type(b"echo hello-$((6*7))\r")
        screen.expect(rb"\r\nhello-42\r\n")
        screen.type(b"exit 3\r")
        screen.expect(rb"sh in default/web/logger ended with exit code 3")  # the TUI is back
        screen.type(b"q")
        assert screen.exit_code() == 0
    finally:
        screen.close()
    entries = AuditLog(tmp_path / "audit.jsonl").entries()
    # One record for `s`: the probes (bash, then sh) and the stream, naming the shell found.
    assert [(e["action"], e["shell"], e["targets"][0]["name"]) for e in entries] == [("shell", ["sh"], "logger")]
