"""End n9s when its terminal hangs up (the ssh connection drops, the terminal window closes).

The kernel sends SIGHUP only to a terminal's controlling process group; n9s may run without that terminal being
its controlling one (started by a supervisor, `setsid`, a pty of another program). A thread of its own waits for the
terminal's hang-up (POLLHUP/POLLERR; input does not wake it) and sends n9s the SIGHUP it would otherwise miss, so the
SIGHUP path (exit_signals) ends n9s and whatever it started. Headless."""
from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
from typing import Iterator


def _terminal_fd() -> int | None:
    stdin = sys.__stdin__
    if stdin is None:  # started without any stdin
        return None
    try:
        fd = stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return None
    return fd if os.isatty(fd) else None


@contextlib.contextmanager
def hangup_sends_sighup() -> Iterator[None]:
    """Within the block, a hang-up of stdin's terminal sends this process SIGHUP once."""
    fd = _terminal_fd()
    if fd is None:
        yield
        return
    stop_r, stop_w = os.pipe()
    poller = select.poll()
    poller.register(fd, select.POLLHUP | select.POLLERR)  # no POLLIN: keys never wake this thread
    poller.register(stop_r, select.POLLIN)

    def watch() -> None:
        while True:
            try:
                events = poller.poll()
            except InterruptedError:
                continue
            fds = {f for f, _ in events}
            if stop_r in fds:
                return
            if fd in fds:
                os.kill(os.getpid(), signal.SIGHUP)
                return

    thread = threading.Thread(target=watch, name="n9s-hangup-watch", daemon=True)
    thread.start()
    try:
        yield
    finally:
        os.write(stop_w, b"x")
        thread.join(timeout=1.0)
        os.close(stop_r)
        os.close(stop_w)
