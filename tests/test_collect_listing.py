"""When to list (n9s.model.collect.listing), on the real demo node: CRI's sandbox and container lists are read again
only after an event (for LISTS_SETTLE_S, while CRI catches up), when the user asks, when they are LISTS_MAX_AGE_S old
or when no event stream vouches for them; the task list likewise; a quiet node gets the very same lists back."""
from __future__ import annotations

import pytest

from n9s.model.collect.health import HealthBook
from n9s.model.collect.listing import (
    LISTS_MAX_AGE_S,
    LISTS_SETTLE_S,
    PROBE_TIMEOUT_CAP_S,
    TASKS_MAX_AGE_S,
    Listing,
    probe_timeout_for,
)
from n9s.model.collect.sources import Sources
from n9s.sources.containerd import ContainerdClient
from n9s.sources.cri import CriClient

pytestmark = pytest.mark.node


@pytest.fixture
def listing(demo_node):
    """A Listing of the demo node's runtime on a clock the test moves (``listing.now[0]``)."""
    cri = CriClient(str(demo_node.address))
    containerd = ContainerdClient(str(demo_node.address), namespace="k8s.io")
    now = [1000.0]
    listing = Listing(Sources(cri, containerd), HealthBook(lambda: now[0]), lambda: now[0])
    listing.now = now
    yield listing
    cri.close()
    containerd.close()


def lists(listing, step_s, relist=False):
    listing.now[0] += step_s
    return listing.runtime_lists(listing.now[0], relist)


def test_without_an_event_stream_every_refresh_lists(demo_node, listing):
    server = demo_node.pod("default/web").container("server")
    for _ in range(3):
        sandboxes, containers = lists(listing, 2)
        assert listing.listed_now
        assert server in {c.id for c in containers} and demo_node.pod("default/web").sandbox_id in {
            s.id for s in sandboxes}
    assert listing.lists_read == 3


def test_a_quiet_node_gets_its_very_lists_back_until_an_event_and_while_cri_settles(listing):
    listing.events_live = True
    first = lists(listing, 0)
    again = lists(listing, 2)
    assert again[0] is first[0] and again[1] is first[1] and not listing.listed_now
    listing.note_event()  # a task or container event
    assert listing.settling()
    after = lists(listing, 1)
    assert after[1] is not first[1] and listing.listed_now
    settling = lists(listing, LISTS_SETTLE_S - 2)
    assert settling[1] is not after[1]  # CRI may still be catching up: listed again
    quiet = lists(listing, 3)
    assert not listing.settling() and quiet[1] is settling[1] and listing.lists_read == 3


def test_the_user_and_old_lists_list_again(listing):
    listing.events_live = True
    first = lists(listing, 0)
    asked = lists(listing, 2, relist=True)  # ctrl-r
    assert asked[1] is not first[1]
    old = lists(listing, LISTS_MAX_AGE_S)
    assert old[1] is not asked[1] and listing.lists_read == 3


def test_the_lists_are_read_again_when_the_event_stream_goes_away(listing):
    listing.events_live = True
    lists(listing, 0)
    lists(listing, 2)
    listing.events_live = False
    lists(listing, 2)
    assert listing.lists_read == 2


def test_the_task_list_is_read_when_a_view_asks_an_event_says_or_it_is_old(demo_node, listing):
    now = listing.now
    assert listing.tasks(False, now[0], None, first_picture=True) == [] and not listing.tasks_fresh
    listing.events_live = True
    tasks = listing.tasks(True, now[0], None, first_picture=True)  # e.g. the tasks view
    server = demo_node.pod("default/web").container("server")
    assert listing.tasks_fresh and next(t for t in tasks if t.container_id == server).status == "RUNNING"
    now[0] += 2
    assert listing.tasks(False, now[0], None, first_picture=False) is tasks and not listing.tasks_fresh
    listing.note_event()
    now[0] += 2
    again = listing.tasks(False, now[0], None, first_picture=False)
    assert again is not tasks and listing.tasks_fresh
    now[0] += 2
    assert listing.tasks(False, now[0], 5.0, first_picture=False) is again  # recent enough for a dump
    now[0] += TASKS_MAX_AGE_S + 1
    assert listing.tasks(False, now[0], None, first_picture=False) is not again


def test_a_task_has_ended_only_by_a_task_list_read_in_this_refresh(demo_node, listing):
    crash = demo_node.pod("demo/crash").container("failing")
    demo_node.wait_for_state(crash, "EXITED")
    tasks = {t.container_id: t for t in listing.tasks(True, listing.now[0], None, first_picture=False)}
    server = tasks[demo_node.pod("default/web").container("server")]
    assert listing.task_ended(tasks.get(crash)) and not listing.task_ended(server)
    listing.events_live = True
    listing.tasks(False, listing.now[0] + 1, None, first_picture=False)  # the last list, not read now
    assert not listing.task_ended(tasks.get(crash))


def test_the_probe_asks_the_runtime_and_waits_longer_after_each_unanswered_one(listing):
    listing.probe(listing.probe_timeout(2.0))  # the demo node answers
    assert probe_timeout_for(2.0) == 1.0 and probe_timeout_for(None) == 2.0 and probe_timeout_for(0.2) == 0.5
    assert [probe_timeout_for(2.0, n) for n in range(5)] == [1.0, 2.0, 4.0, PROBE_TIMEOUT_CAP_S, PROBE_TIMEOUT_CAP_S]
