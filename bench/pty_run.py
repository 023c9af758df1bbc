"""Run the real `n9s` command in a pseudo-terminal, as a user would, while a thread drains and timestamps what it
paints. Keys are written to the terminal as bytes."""
from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass, field
from typing import Callable
from pathlib import Path

from bench.screen_text import plain

N9S = str(Path(sys.executable).with_name("n9s"))
LEAVE_ALT_SCREEN = b"\x1b[?1049l"

KEYS = {"enter": b"\r", "escape": b"\x1b", "down": b"\x1b[B", "up": b"\x1b[A", "ctrl+c": b"\x03"}


@dataclass
class Chunk:
    at: float  # time.perf_counter() when read (CLOCK_MONOTONIC, the same clock in every process)
    data: bytes


@dataclass
class PtyN9s:
    """`n9s <args>` in a pty of `cols` x `rows`. `start()` spawns it; `spawned_at` is perf_counter() just before."""

    args: list[str]
    cols: int = 160
    rows: int = 50
    keep_output: bool = True
    watch: re.Pattern[str] | None = None  # matches in the plain text of the output are collected
    on_text: Callable[[float, str], None] | None = None  # called with each read's plain text (and the tail before)
    env: dict[str, str] = field(default_factory=dict)
    program: list[str] = field(default_factory=lambda: [N9S])  # what runs with ``args`` (default: the n9s script)
    chunks: list[Chunk] = field(default_factory=list)
    matches: list[tuple[float, re.Match]] = field(default_factory=list)
    spawned_at: float = 0.0
    proc: subprocess.Popen | None = None
    _master: int = -1
    _reader: threading.Thread | None = None
    _bytes: int = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> "PtyN9s":
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor", "COLUMNS": str(self.cols),
               "LINES": str(self.rows), **self.env}
        env.pop("TEXTUAL", None)
        # Textual paints on stderr: both streams go to the terminal, as in a shell
        self.spawned_at = time.perf_counter()
        self.proc = subprocess.Popen([*self.program, *self.args], stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self._master = master
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        return self

    def _drain(self) -> None:
        tail = b""
        while True:
            try:
                data = os.read(self._master, 65536)
            except OSError:
                return
            if not data:
                return
            now = time.perf_counter()
            self._bytes += len(data)
            if self.keep_output:
                self.chunks.append(Chunk(now, data))
            if self.watch is not None or self.on_text is not None:
                # the tail of the previous read rides along: a match may straddle two reads
                text = plain(tail + data)
                if self.watch is not None:
                    for m in self.watch.finditer(text):
                        self.matches.append((now, m))
                if self.on_text is not None:
                    self.on_text(now, text)
                tail = data[-512:]

    @property
    def output_bytes(self) -> int:
        return self._bytes

    def press(self, *keys: str, gap: float = 0.05) -> None:
        for key in keys:
            os.write(self._master, KEYS.get(key, key.encode()))
            time.sleep(gap)

    def type(self, text: str, gap: float = 0.05) -> None:
        for ch in text:
            os.write(self._master, ch.encode())
            time.sleep(gap)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._close_reader()

    def stop(self, timeout: float = 10.0) -> int | None:
        """Ask n9s to quit (SIGTERM, as the app handles it), then kill it if it lingers."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._close_reader()
        return self.proc.returncode

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=2)
        if self._master >= 0:
            try:
                os.close(self._master)
            except OSError:
                pass
            self._master = -1

    def terminal_modes(self) -> list:
        """The terminal's modes now (termios.tcgetattr: the pty's two ends share them)."""
        return termios.tcgetattr(self._master)

    def hang_up(self) -> None:
        """Close our end of the pty, as a terminal window or an ssh connection does when it goes away."""
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
        if self._reader is not None:
            self._reader.join(timeout=2)

    def plain_text(self) -> str:
        return plain(b"".join(c.data for c in self.chunks))


BENCH_LOG = os.path.join(os.environ.get("TMPDIR", "/tmp"), "n9s-bench.log")


def n9s_args(address: str, pods_dir: str, *extra: str, log_file: str = BENCH_LOG) -> list[str]:
    """No kubeconfig is needed: n9s shows the runtime's view and says the API is missing."""
    return ["--address", address, "--pods-dir", pods_dir, "--log-file", log_file, *extra]


REFRESH_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) DEBUG n9s: refresh took ([\d.]+)s", re.M)


def refreshes_logged(log_file: str, start: float, end: float) -> list[float]:
    """Wall seconds of each refresh n9s logged (with --debug) between two time.time() instants."""
    try:
        text = Path(log_file).read_text(errors="replace")
    except OSError:
        return []
    out = []
    for m in REFRESH_LINE.finditer(text):
        at = time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")) + int(m.group(2)) / 1000
        if start <= at <= end:
            out.append(float(m.group(3)))
    return out
