"""The real terminal driver (a pty, not the pilot): a lone ESC typed after a quiet spell acts as ESC on its own, and
"q" then quits n9s."""
from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import threading
import time

import pytest
from pty_app import readable

pytestmark = pytest.mark.node

CHILD = r"""
import sys
from n9s.cli import main
sys.exit(main(sys.argv[1:]))
"""
SGR = re.compile(rb"\x1b\[[0-9;?]*[a-zA-Z]")


class Terminal:
    def __init__(self, demo_node, tmp_path):
        env = {**os.environ, "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state"),
               "XDG_CONFIG_HOME": str(tmp_path / "config"), "TERM": "xterm-256color"}
        env.pop("TEXTUAL", None)
        env.pop("TEXTUAL_DRIVER", None)
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
        argv = ["--address", str(demo_node.address), "--pods-dir", str(demo_node.pods_dir), "--no-api",
                "--log-file", str(tmp_path / "n9s.log")]
        self.child = subprocess.Popen([sys.executable, "-c", CHILD, *argv], stdin=slave, stdout=slave, stderr=slave,
                                      start_new_session=True, close_fds=True, env=env)
        os.close(slave)
        self.out = b""
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                if readable(self.master, 0.2):
                    data = os.read(self.master, 65536)
                    if not data:
                        return
                    with self._lock:
                        self.out += data
            except OSError:
                return

    def text(self) -> bytes:
        with self._lock:
            return SGR.sub(b"", self.out)

    def wait_for(self, needle: bytes, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return True
            time.sleep(0.05)
        return False

    def close(self):
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        os.close(self.master)


def test_a_lone_esc_after_a_quiet_spell_acts_and_q_quits(demo_node, tmp_path):
    term = Terminal(demo_node, tmp_path)
    try:
        assert term.wait_for(b"graceful"), term.text()[-600:]
        time.sleep(1.5)  # a quiet spell: no input for a while
        os.write(term.master, b":")
        time.sleep(1.5)
        os.write(term.master, b"\x1b")  # alone: only the parser's timeout makes it a key
        time.sleep(1.5)
        # Had the ESC waited for the next byte, "q" would arrive as alt+q, in the prompt: n9s would not quit.
        os.write(term.master, b"q")
        assert term.child.wait(timeout=20) == 0
    finally:
        term.close()
