"""The event loop's executor for n9s's thread workers: each job in a daemon thread of its own.

asyncio's default pool joins its threads when the loop ends and again when the interpreter exits, so one worker
stuck in a runtime call (up to its deadline, or forever on a stream) held n9s open after it was told to quit.
Nothing a worker does must outlive the app: its threads die with the process. Headless.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable


class DaemonThreadPool(ThreadPoolExecutor):
    """A ThreadPoolExecutor (asyncio accepts no other as its default) whose jobs each run in a daemon thread and
    whose shutdown waits for none of them."""

    def __init__(self) -> None:
        super().__init__(thread_name_prefix="n9s-worker")
        self._stopped = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        if self._stopped:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: Future = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as err:  # noqa: BLE001 - handed to whoever awaits the future
                future.set_exception(err)
            else:
                future.set_result(result)

        threading.Thread(target=run, name="n9s-worker", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:  # noqa: ARG002
        self._stopped = True
