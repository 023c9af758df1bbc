"""Textual's Linux driver, with an input thread that sleeps while the terminal is quiet.

Textual's input thread waits for keys in 0.1 s slices, so that it can notice the app quitting and time out a lone
ESC; on an idle n9s those ten wakes a second were a sixth of its CPU (bench, 50 pods: 2.4 ms per 2 s refresh).
This thread waits in short slices only for a second after input (long enough for any ESC timeout), then blocks
until the next byte or until the driver stops it through a pipe. When the terminal is gone (end of input, or
EIO once the pty's other side has closed) the thread sends n9s the hangup the kernel sends only to a terminal's
controlling process group, so n9s ends whoever started it.
"""
from __future__ import annotations

import os
import selectors
import signal
import time
from codecs import getincrementaldecoder

from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

INPUT_TICK_S = 0.1  # how often the key parser is asked about timeouts while a sequence may be incomplete
TICKING_AFTER_INPUT_S = 1.0  # ... after the last input; then the thread blocks


class QuietInputDriver(LinuxDriver):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # One pipe for the driver's life: a byte in it stops the input thread (disable_input writes it).
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)

    def run_input_thread(self) -> None:
        self._drain_wake()  # a stop request from an earlier run (before a suspend) is not for this one
        # poll(), not select(): with cgroup files kept open, n9s's descriptors can be numbered above 1024.
        selector = selectors.PollSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        last_input = time.monotonic()
        try:
            while not self.exit_event.is_set():
                ticking = time.monotonic() - last_input < TICKING_AFTER_INPUT_S
                stop = False
                for key, _ in selector.select(INPUT_TICK_S if ticking else None):
                    if key.fd == self._wake_r:
                        stop = True
                        continue
                    try:
                        data = os.read(self.fileno, 4096)
                    except OSError:
                        data = b""
                    if not data:  # the terminal is gone: nothing more will come
                        selector.unregister(self.fileno)
                        os.kill(os.getpid(), signal.SIGHUP)
                        continue
                    last_input = time.monotonic()
                    for message in parser.feed(decode(data)):
                        self.process_message(message)
                for message in parser.tick():
                    self.process_message(message)
                if stop:
                    break
        finally:
            selector.close()

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_r, 64):
                pass
        except BlockingIOError:
            pass

    def disable_input(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        super().disable_input()
