"""A runtime that stops answering (its containerd SIGSTOP'ed): the header says so within two refresh intervals,
while cgroup figures alone would keep moving; an action under way meanwhile keeps its channel and ends with a clear
message or its result, never "Channel closed!".

These tests freeze containerd, so they run on a private demo node of their own, never on the session's shared one.
"""
from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import time

import pytest

from n9s.demo import ContainerSpec, DemoNode, NodeUnavailable, PodSpec
from n9s.widgets.node_header import NodeHeader

from conftest import _skip_or_fail
from pilot_helpers import make_app, table_rows, wait_for

pytestmark = pytest.mark.node


def _sleeper(name: str, namespace: str = "frozen") -> PodSpec:
    return PodSpec(name=name, namespace=namespace, containers=[ContainerSpec("main", ["sh", "-c", "sleep 600"])])


@pytest.fixture(scope="module")
def private_node():
    """A second demo node whose containerd these tests may freeze."""
    node = DemoNode()
    try:
        try:
            node.start()
        except NodeUnavailable as err:
            _skip_or_fail(str(err))
        node.run_pods([_sleeper("one"), _sleeper("two")])
        yield node
    finally:
        node.stop()


@contextlib.contextmanager
def frozen(node: DemoNode):
    """containerd stopped with SIGSTOP (its shims and containers keep running), SIGCONT on the way out."""
    pid = node.containerd_pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)


def header(app) -> str:
    return str(app.screen.query_one(NodeHeader).render())


async def test_a_frozen_runtime_is_marked_within_two_refresh_intervals_then_clears(private_node):
    interval = 1.0
    app = make_app(private_node, refresh_s=interval)
    async with app.run_test(size=(180, 40)) as pilot:
        collector = app.collector
        assert await wait_for(pilot, lambda: len(table_rows(app)) >= len(private_node.pods))
        # A quiet node with the event stream live: the runtime's lists are no longer read on every refresh, only
        # the cgroup files are (the case that showed nothing for half a minute).
        assert await wait_for(pilot, lambda: collector.events_live)
        listed = -1
        for _ in range(40):
            listed = collector.lists_read
            await pilot.pause(3 * interval)
            if collector.lists_read == listed:
                break
        assert collector.lists_read == listed, "the lists kept being read on a quiet node"

        with frozen(private_node):
            frozen_at = time.monotonic()
            # Two intervals, plus generous room for a loaded machine to draw the header.
            assert await wait_for(pilot, lambda: "runtime: not answering for" in header(app),
                                  timeout=2 * interval + 3.0), header(app)
            noticed_after = time.monotonic() - frozen_at
            assert noticed_after <= 2 * interval + 3.0
            assert "STALE" in header(app)
            # The count goes on while it stays frozen.
            assert await wait_for(pilot, lambda: (m := re.search(r"not answering for (\d+)s", header(app)))
                                  and int(m.group(1)) >= 3, timeout=10), header(app)
            await pilot.press("down")  # keys are still answered
        assert await wait_for(pilot, lambda: "not answering" not in header(app) and "STALE" not in header(app),
                              timeout=10 + 2 * interval), header(app)
        assert len(table_rows(app)) >= len(private_node.pods)


def _app_built_by_cli(node: DemoNode, tmp_path, monkeypatch):
    """The app exactly as `n9s --address ...` builds it (collector, actions and their clients), not run."""
    from n9s import cli
    from n9s.ui.app import N9sApp

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("N9S_CONFIG", str(tmp_path / "no-config.toml"))
    built = []
    monkeypatch.setattr(N9sApp, "run", lambda self, *a, **k: built.append(self))
    assert cli.main(["--address", str(node.address), "--pods-dir", str(node.pods_dir), "--no-api",
                     "--log-file", str(tmp_path / "n9s.log"), "--refresh", "1"]) == 0
    app = built[0]
    if app.first_refresh is not None:
        app.first_refresh.result()
    return app


def _stop_in_thread(actions, picture, container_id: str):
    """A stop (grace 0) through the action layer, as the ctrl-k dialog runs it; the outcome lands in the list."""
    from n9s.actions.plan import STOP, Choice, container_subject, perform_one

    row = picture.container(container_id)
    subject = container_subject(row, picture.pod(row.sandbox_id))
    outcomes = []
    thread = threading.Thread(target=lambda: outcomes.append(perform_one(actions, subject, Choice(STOP, grace_s=0))),
                              daemon=True)
    thread.start()
    return thread, outcomes


def _refresh_until_not_answering(collector, interval: float = 1.0, patience_s: float = 20.0):
    """Refresh as the refresh loop does until the runtime is marked not answering (its channel renewed)."""
    deadline = time.monotonic() + patience_s
    while time.monotonic() < deadline:
        picture = collector.refresh(interval_s=interval)
        health = picture.source("runtime")
        if health is not None and health.state == "not answering":
            return picture
        time.sleep(interval)
    raise AssertionError("the refresh never marked the runtime as not answering")


def _outcome_is_clear(outcome) -> None:
    assert "Channel closed" not in outcome.message and "CANCELLED" not in outcome.message, outcome.message
    assert outcome.ok or "did not answer within" in outcome.message, outcome.message


def test_a_stop_under_way_while_the_refresh_reconnects_keeps_its_channel(private_node, tmp_path, monkeypatch):
    app = _app_built_by_cli(private_node, tmp_path, monkeypatch)
    collector = app.collector
    victim = private_node.pod("frozen/one").container("main")
    picture = collector.refresh(interval_s=1.0)
    with frozen(private_node):
        thread, outcomes = _stop_in_thread(app.actions, picture, victim)
        _refresh_until_not_answering(collector)
        time.sleep(0.5)
        assert not outcomes, outcomes[0].message  # still waiting for the runtime, not cut off by the refresh
    thread.join(30)
    assert outcomes, "the stop never ended"
    _outcome_is_clear(outcomes[0])
    assert outcomes[0].ok, outcomes[0].message  # thawed well within its deadline: it was carried out
    assert private_node.wait_for_state(victim, "EXITED").id == victim


def test_renewing_a_shared_channel_lets_the_call_another_thread_waits_on_finish(private_node):
    # The refresh renews its clients' channel when the runtime is unreachable; whatever shares those clients (the
    # status filler, describe, logs) keeps the call it waits on.
    from n9s.sources.cri import CriClient

    cri = CriClient(str(private_node.address))
    victim = private_node.pod("frozen/two").container("main")
    cri.version()
    answers, errors = [], []

    def ask() -> None:
        try:
            answers.append(cri.container_status(victim))
        except Exception as err:  # noqa: BLE001 - the test reports it
            errors.append(err)

    with frozen(private_node):
        thread = threading.Thread(target=ask, daemon=True)
        thread.start()
        time.sleep(0.5)
        cri.reconnect()
        time.sleep(0.5)
        assert not errors, errors
    thread.join(10)
    assert not errors, errors
    assert answers and answers[0].id == victim
    assert cri.version().runtime_name  # the fresh channel works too
    cri.close()


def test_an_action_the_runtime_never_answers_says_so_with_its_deadline(private_node, tmp_path, monkeypatch):
    app = _app_built_by_cli(private_node, tmp_path, monkeypatch)
    pod = private_node.pod("frozen/one")
    late = private_node.add_container(pod, ContainerSpec("late", ["sh", "-c", "sleep 600"]))
    picture = app.collector.refresh(interval_s=1.0)
    assert picture.container(late) is not None
    with frozen(private_node):
        thread, outcomes = _stop_in_thread(app.actions, picture, late)
        _refresh_until_not_answering(app.collector)
        thread.join(60)  # the stop's own deadline: its grace period (0) and 15 s
        assert outcomes, "the stop never ended"
    message = outcomes[0].message
    assert not outcomes[0].ok
    assert "the runtime" in message and "did not answer within 15 s" in message, message
    assert "Channel closed" not in message
