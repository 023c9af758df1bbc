"""The real `n9s` command on a pty of its own, driven like a user: keys in, the screen's text out."""
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

EXPECT_TIMEOUT_S = 20.0
CSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]")


def readable(fd: int, timeout: float) -> bool:
    """Whether ``fd`` has something to read within ``timeout`` s. poll, not select: the suite's process holds many
    descriptors (kept-open cgroup files), and select() refuses any numbered 1024 or more."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(max(0.0, timeout) * 1000))

CHILD = r"""
import fcntl, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
from n9s.cli import main
sys.exit(main(sys.argv[1:]))
"""


class Screen:
    """`raw` keeps every byte n9s wrote (for a terminal model to replay); `seen` what `expect` has not used."""

    def __init__(self, argv: list[str], env: dict[str, str], rows: int = 40, cols: int = 150) -> None:
        self.master, slave = os.openpty()
        self.rows, self.cols = rows, cols
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.child = subprocess.Popen([sys.executable, "-c", CHILD, *argv], stdin=slave, stdout=slave, stderr=slave,
                                      start_new_session=True, close_fds=True, env=env)
        os.close(slave)
        self.seen = b""
        self.raw = b""

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
            if left <= 0 or self.child.poll() is not None and not readable(self.master, 0):
                raise AssertionError(f"{pattern!r} not seen; the screen ends with {plain[-600:]!r}")
            ready = readable(self.master, min(left, 0.5))
            if ready:
                self._read()

    def exit_code(self, timeout: float = EXPECT_TIMEOUT_S) -> int:
        # Keep reading while n9s ends: a terminal nobody reads fills up and blocks its writes.
        deadline = time.monotonic() + timeout
        while self.child.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"n9s did not exit; the screen ends with {CSI.sub(b'', self.seen)[-600:]!r}")
            if self.master >= 0 and readable(self.master, 0.2):
                self._read()
            elif self.master < 0:
                time.sleep(0.1)
        return self.child.returncode

    def _read(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return
        self.seen += data
        self.raw += data

    def hang_up(self) -> None:
        """Close our side of the terminal, as a dropped ssh connection does: the kernel sends n9s SIGHUP."""
        os.close(self.master)
        self.master = -1

    def close(self) -> None:
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait(timeout=10)
        if self.master >= 0:
            os.close(self.master)
