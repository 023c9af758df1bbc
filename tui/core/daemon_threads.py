"""Threads that never keep n9s alive: a call blocked in the runtime (a stop waiting out a long grace period) must
not hold up quitting.

concurrent.futures' pools are joined when the interpreter ends, and Textual's thread workers run in asyncio's
default executor, which the event loop joins when the app ends: either way a blocked call would make `:q` wait
for it. These are daemon threads, left behind at exit (what they asked the runtime for goes on there; the audit
log says the outcome is unknown). `DaemonThreadPool` is the event loop's executor for the same reason: asyncio's
default pool would be joined when the loop ends. Headless: no textual.
"""
from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_unordered(fn: Callable[[T], R], items: Iterable[T], parallel: int, name: str = "n9s-call") -> Iterator[R]:
    """``fn`` over ``items`` in up to ``parallel`` daemon threads, results as they come. An exception in ``fn``
    is raised here, as a pool's future would."""
    todo: queue.SimpleQueue = queue.SimpleQueue()
    count = 0
    for item in items:
        todo.put(item)
        count += 1
    done: queue.SimpleQueue = queue.SimpleQueue()

    def run() -> None:
        while True:
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((True, fn(item)))
            except BaseException as err:  # noqa: BLE001 - handed to the caller
                done.put((False, err))

    for i in range(min(max(1, parallel), count)):
        threading.Thread(target=run, name=f"{name}-{i}", daemon=True).start()
    for _ in range(count):
        ok, value = done.get()
        if not ok:
            raise value
        yield value


async def in_daemon_thread(fn: Callable[..., R], *args: Any, name: str = "n9s-action") -> R:
    """Await ``fn(*args)`` run in a daemon thread. Cancelling the await (the app quitting) leaves the thread to
    finish or to end with the process; nothing waits for it."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def run() -> None:
        value: Any
        try:
            ok, value = True, fn(*args)
        except BaseException as err:  # noqa: BLE001 - handed to the awaiting task
            ok, value = False, err
        try:
            loop.call_soon_threadsafe(settle, ok, value)
        except RuntimeError:
            pass  # the loop has closed: n9s is ending, nobody waits for this

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future


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
