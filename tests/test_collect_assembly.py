"""Rows and pods (n9s.model.collect.assembly) from the real demo node's lists and cgroups, and the one memo rule they
follow (n9s.model.kept): what was made from the very same inputs is handed on as the very same object, and nothing
else is: a quiet node's rows, its idle pods, its task rows."""
from __future__ import annotations

import time

import pytest

from n9s.model.collect.assembly import Assembly
from n9s.model.collect.health import HealthBook
from n9s.model.collect.known import KnownContainers
from n9s.model.collect.listing import Listing
from n9s.model.collect.sampling import Sampler
from n9s.model.collect.sources import Sources
from n9s.model.kept import Kept
from n9s.sources.cgroups.reader import CgroupReader
from n9s.sources.containerd import ContainerdClient
from n9s.sources.cri import CriClient


def test_a_kept_value_holds_for_the_very_same_inputs_and_equal_facts():
    listing, tasks = [1, 2], [3]
    kept = Kept("rows", (listing, tasks), (False, 0))
    assert kept.holds((listing, tasks), (False, 0))
    assert not kept.holds((list(listing), tasks), (False, 0))  # an equal listing is not the same one
    assert not kept.holds((listing, tasks), (True, 0))
    assert not kept.holds((listing,), (False, 0)) and not kept.holds((listing, tasks, None), (False, 0))


@pytest.fixture
def node(demo_node):
    """(assembly, listing, known, sampler, sources) on the demo node's runtime and cgroups."""
    cri = CriClient(str(demo_node.address))
    containerd = ContainerdClient(str(demo_node.address), namespace="k8s.io")
    reader = CgroupReader(keep_open=True)
    sources = Sources(cri, containerd, reader)
    health = HealthBook(time.time)
    listing = Listing(sources, health, time.time)
    known = KnownContainers(sources, str(demo_node.pods_dir))
    sampler = Sampler(sources)
    yield Assembly(sources, listing, known, sampler), listing, known, sampler, sources
    cri.close()
    containerd.close()
    reader.close()


def listed(listing):
    sandboxes, containers = listing.runtime_lists(time.time(), relist=True)
    return sandboxes, containers, listing.tasks(True, time.time(), None, first_picture=False)


@pytest.mark.node
def test_rows_are_sorted_and_joined_with_their_tasks_and_what_is_known(demo_node, node):
    assembly, listing, _, _, _ = node
    _, containers, tasks = listed(listing)
    rows = assembly.rows(containers, tasks, hidden=False)
    assert [r.id for r in rows] == [r.id for r in sorted(rows, key=lambda r: (r.namespace, r.pod_name, r.name,
                                                                              r.attempt, r.id))]
    by_task = {t.container_id: t for t in tasks}
    burner = next(r for r in rows if r.id == demo_node.pod("demo/burn").container("burner"))
    assert burner.pid == by_task[burner.id].pid and burner.figures.memory_working_set_bytes is not None
    assert burner.cgroup_path == f"{demo_node.pod('demo/burn').cgroup_parent}/{burner.id}"
    crash = next(r for r in rows if r.id == demo_node.pod("demo/crash").container("failing"))
    assert (crash.state, crash.exit_code, crash.pid) == ("EXITED", 3, None)


@pytest.mark.node
def test_a_quiet_node_gets_its_very_rows_back_until_a_cgroup_is_read_or_a_fact_learnt(demo_node, node):
    assembly, listing, known, _, _ = node
    _, containers, tasks = listed(listing)
    assembly.rows(containers, tasks, hidden=False)  # first sight: every cgroup read
    hidden = assembly.rows(containers, tasks, hidden=True)  # pods view: container cgroups left unread
    kept = assembly.rows(containers, tasks, hidden=True)
    assert all(a is b for a, b in zip(hidden, kept))  # every row handed on ...
    assert assembly.rows(containers, tasks, hidden=True) is kept  # ... so the rows as a whole are
    shown = assembly.rows(containers, tasks, hidden=False)  # the containers view reads them again
    assert shown is not kept
    running = {r.id for r in shown if r.state == "RUNNING"}
    assert running and all((a is b) == (a.id not in running) for a, b in zip(shown, kept))
    again = assembly.rows(containers, tasks, hidden=True)
    known.changes += 1  # a status call learnt something
    assert assembly.rows(containers, tasks, hidden=True) is not again
    assert assembly.rows(list(containers), tasks, hidden=True) is not again  # another listing


@pytest.mark.node
def test_the_pods_of_a_quiet_node_are_the_last_ones_where_nothing_moved(demo_node, node):
    assembly, listing, _, _, _ = node
    sandboxes, containers, tasks = listed(listing)
    rows = assembly.rows(containers, tasks, hidden=False)
    first = assembly.pods(sandboxes, rows, with_cgroups=True, limits_due=True)
    assert {p.id for p in first} == {s.id for s in sandboxes}
    web = next(p for p in first if p.id == demo_node.pod("default/web").sandbox_id)
    assert {c.name for c in web.current} == {"server", "logger"} and web.figures.memory_working_set_bytes
    second = assembly.pods(sandboxes, rows, with_cgroups=True, limits_due=False)
    assert [p.id for p in second] == [p.id for p in first]
    crash = demo_node.pod("demo/crash").sandbox_id
    for before, after in zip(first, second):
        if before.id == crash:  # nothing runs there: no pod cgroup to read, its figures are its containers' sum
            assert after is before
        assert (after is before) == (after.figures is before.figures)
    plain = assembly.pods(sandboxes, rows, with_cgroups=False, limits_due=False)  # no pod list on screen
    assert assembly.pods(sandboxes, rows, with_cgroups=False, limits_due=False) is plain


@pytest.mark.node
def test_task_rows_are_made_again_only_for_another_task_list(demo_node, node):
    assembly, listing, _, _, _ = node
    sandboxes, containers, tasks = listed(listing)
    rows = assembly.rows(containers, tasks, hidden=False)
    made = assembly.task_rows(tasks, rows, sandboxes)
    web = demo_node.pod("default/web")
    by_id = {t.container_id: t for t in made}
    assert (by_id[web.container("server")].kind, by_id[web.container("server")].name) == ("container", "server")
    assert (by_id[web.sandbox_id].kind, by_id[web.sandbox_id].pod) == ("sandbox", "default/web")
    assert assembly.task_rows(tasks, rows, sandboxes) is made
    assert assembly.task_rows(list(tasks), rows, sandboxes) is not made


@pytest.mark.node
def test_containers_gone_from_the_listing_are_forgotten_by_every_part(demo_node, node):
    assembly, listing, known, sampler, sources = node
    _, containers, tasks = listed(listing)
    assembly.rows(containers, tasks, hidden=False)
    burner = demo_node.pod("demo/burn").container("burner")
    assert known.get(burner) is not None and burner in sources.cgroups.cached_ids()
    rest = [c for c in containers if c.id != burner]
    assert burner not in {r.id for r in assembly.rows(rest, tasks, hidden=False)}
    assert known.get(burner) is None and burner not in sources.cgroups.cached_ids()
    assert sampler.memory_limit(burner) is None
    assert sampler.history(burner, sampler.figures_from(None, None)) == ((), ())  # its history starts afresh
