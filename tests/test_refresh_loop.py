"""The refresh loop's promises: never two refreshes at once, asks during a refresh fold into one more, the interval
counts from the end of a refresh, a failing refresh is reported and the loop goes on, and stop means stop."""
from __future__ import annotations

import threading
import time

from n9s.core.refresh_loop import RefreshLoop


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


class Recorder:
    def __init__(self, hold: float = 0.0, fail_on: int | None = None):
        self.hold = hold
        self.fail_on = fail_on
        self.calls = 0
        self.running = 0
        self.overlapped = False
        self.ends: list[float] = []
        self.errors: list[Exception] = []
        self.gate = threading.Event()
        self.gate.set()

    def work(self):
        self.running += 1
        self.overlapped = self.overlapped or self.running > 1
        self.calls += 1
        try:
            self.gate.wait(5)
            time.sleep(self.hold)
            if self.calls == self.fail_on:
                raise RuntimeError("boom")
        finally:
            self.running -= 1
            self.ends.append(time.monotonic())


def running(rec: Recorder, every: float) -> RefreshLoop:
    """A loop over ``rec.work`` that refreshes every ``every`` seconds, started and asked for its first refresh."""
    loop = RefreshLoop(rec.work, lambda: every, rec.errors.append)
    loop.start()
    loop.ask()
    return loop


def test_nothing_runs_until_asked_and_a_long_interval_means_one_refresh():
    rec = Recorder()
    loop = RefreshLoop(rec.work, lambda: 60.0, rec.errors.append)
    loop.start()
    time.sleep(0.1)
    assert rec.calls == 0
    loop.ask()
    assert wait_until(lambda: rec.calls == 1)
    time.sleep(0.2)
    assert rec.calls == 1  # the next is 60 s away
    loop.stop()


def test_asks_during_a_refresh_fold_into_one_more_and_none_overlap():
    rec = Recorder()
    rec.gate.clear()
    loop = RefreshLoop(rec.work, lambda: 60.0, rec.errors.append)
    loop.start()
    loop.ask()
    assert wait_until(lambda: rec.calls == 1)
    assert loop.started_at is not None  # the header reads how long a refresh has run
    for _ in range(5):
        loop.ask()
    rec.gate.set()
    assert wait_until(lambda: rec.calls == 2)
    time.sleep(0.2)
    assert rec.calls == 2 and not rec.overlapped
    assert wait_until(lambda: loop.started_at is None)
    loop.stop()


def test_the_interval_counts_from_the_end_of_each_refresh():
    rec = Recorder(hold=0.1)
    loop = running(rec, 0.1)
    assert wait_until(lambda: rec.calls >= 4)
    loop.stop()
    starts_after = [b - a for a, b in zip(rec.ends, rec.ends[1:])]
    assert all(gap >= 0.19 for gap in starts_after[:3]), starts_after  # 0.1 s of work + 0.1 s of waiting
    assert not rec.overlapped


def test_a_failing_refresh_is_reported_and_the_loop_goes_on():
    rec = Recorder(fail_on=2)
    loop = running(rec, 0.01)
    assert wait_until(lambda: rec.calls >= 4)
    loop.stop()
    assert [str(e) for e in rec.errors] == ["boom"]


def test_stop_ends_the_thread_and_no_refresh_follows():
    rec = Recorder()
    loop = running(rec, 0.01)
    assert wait_until(lambda: rec.calls >= 2)
    loop.stop()
    assert wait_until(lambda: not loop.running)
    calls = rec.calls
    loop.ask()
    time.sleep(0.1)
    assert rec.calls == calls
