"""Listing a task's pids costs a runc run: the exec index lists a container's execs again only after an exec
event for it, when it is new, or when its list is old; and it says which execs this n9s started."""
from __future__ import annotations

import os

from n9s.actions.exec_sessions import ExecSessions, OwnedExec
from n9s.actions.layer import Target
from n9s.model import exec_index as module
from n9s.model.exec_index import ExecIndex
from n9s.sources.containerd import TaskProcess


class CountingContainerd:
    """ListPids answers from ``pids`` (container id -> [(pid, exec id)]) and counts the calls per container."""

    def __init__(self, pids: dict[str, list[tuple[int, str]]]) -> None:
        self.pids = pids
        self.calls: dict[str, int] = {}

    def processes(self, container_id: str) -> list[TaskProcess]:
        self.calls[container_id] = self.calls.get(container_id, 0) + 1
        return [TaskProcess(pid, exec_id) for pid, exec_id in self.pids.get(container_id, [])]


ME = os.getpid()  # a real process, so /proc has its command line and start time


def make(now):
    ctd = CountingContainerd({"c1": [(1, ""), (ME, "e1")], "c2": [(2, "")]})
    return ExecIndex(ctd, clock=lambda: now[0]), ctd


def test_with_live_events_only_an_exec_event_or_age_lists_a_container_again():
    now = [100.0]
    index, ctd = make(now)
    rows = index.rows(["c1", "c2"], live=True)
    assert [(r.container_id, r.exec_id, r.pid) for r in rows] == [("c1", "e1", ME)]
    assert rows[0].command and rows[0].started_at and ctd.calls == {"c1": 1, "c2": 1}
    now[0] += 2
    index.rows(["c1", "c2"], live=True)
    assert ctd.calls == {"c1": 1, "c2": 1}
    index.note_event("/tasks/exec-started", "c2")
    index.note_event("/containers/update", "c1")  # not about execs
    index.rows(["c1", "c2"], live=True)
    assert ctd.calls == {"c1": 1, "c2": 2}
    now[0] += module.MAX_AGE_S
    index.rows(["c1", "c2"], live=True)
    assert ctd.calls == {"c1": 2, "c2": 3}


def test_without_events_the_list_is_read_again_after_a_few_seconds_and_the_detail_each_time():
    now = [100.0]
    index, ctd = make(now)
    index.rows(["c1", "c2"], live=False)
    now[0] += 1
    index.rows(["c1", "c2"], live=False)
    assert ctd.calls == {"c1": 1, "c2": 1}
    now[0] += module.UNWATCHED_MAX_AGE_S
    index.rows(["c1", "c2"], live=False)
    assert ctd.calls == {"c1": 2, "c2": 2}
    index.of("c1", live=False)
    index.of("c1", live=False)
    assert ctd.calls["c1"] == 4


def test_the_views_learn_which_execs_this_n9s_started_and_a_kept_one_that_ended_is_forgotten():
    now = [100.0]
    index, ctd = make(now)
    sessions = ExecSessions()
    index.owners = sessions
    owned = OwnedExec(Target(id="c1"), "e1", ME, "sh", "ns/pod/c1")
    sessions.add(owned)
    assert [r.owner for r in index.rows(["c1"], live=True)] == ["n9s"]
    sessions.keep(owned)
    assert [r.owner for r in index.of("c1", live=False)] == ["n9s, kept"]
    ctd.pids["c1"] = [(1, "")]
    index.note_event("/tasks/exit", "c1")
    assert index.rows(["c1"], live=True) == () and sessions.all() == []
