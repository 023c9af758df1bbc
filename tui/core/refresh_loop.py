"""The refresh loop: one long-lived thread that builds pictures, never two at once, the next one ``delay()`` seconds
after one ends or at once when asked.

A Textual thread worker and timer per refresh cost the UI thread a task, three worker state messages and a timer
task each time (measured in docs/benchmarks.md); here the UI thread does nothing until the picture arrives.
"""
from __future__ import annotations

import threading
import time
from typing import Callable


class RefreshLoop:
    def __init__(self, work: Callable[[], None], delay: Callable[[], float],
                 on_error: Callable[[Exception], None]) -> None:
        """``work`` builds and hands over one picture; ``delay`` says, after each, how long until the next;
        ``on_error`` hears what ``work`` raised (the loop goes on)."""
        self._work = work
        self._delay = delay
        self._on_error = on_error
        self._asked = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="refresh", daemon=True)
        self.started_at: float | None = None  # monotonic start of the refresh under way, None between refreshes

    def start(self) -> None:
        self._thread.start()

    def ask(self) -> None:
        """A refresh now, or right after the one under way."""
        self._asked.set()

    def stop(self) -> None:
        """No refresh after the one under way (which is not waited for)."""
        self._stopped.set()
        self._asked.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        wait: float | None = None  # the first refresh waits to be asked for
        while True:
            self._asked.wait(wait)
            if self._stopped.is_set():
                return
            self._asked.clear()
            self.started_at = time.monotonic()
            try:
                self._work()
            except Exception as err:  # noqa: BLE001 - one failed refresh must not end the loop
                self._on_error(err)
            finally:
                self.started_at = None
            if self._stopped.is_set():
                return
            try:
                wait = self._delay()
            except Exception as err:  # noqa: BLE001
                self._on_error(err)
                wait = 1.0
