"""With containerd's event stream live, a quiet node is not listed on every refresh: CRI's sandbox and container
lists change only with a task or container event, so the collector lists again after one (for LISTS_SETTLE_S, while
CRI catches up), when the user asks, or when the lists are LISTS_MAX_AGE_S old."""
from __future__ import annotations

from fake_runtime import FakeContainerd, FakeCri, running_task
from n9s.model import collector as collector_module
from n9s.model.collector import Collector
from n9s.sources.errors import Unreachable


def make(now):
    cri = FakeCri()
    return Collector(cri, FakeContainerd([running_task("c1", 42)]), None, pods_dir="/nonexistent",
                     clock=lambda: now[0]), cri


def states(picture):
    return [(c.name, c.state) for c in picture.containers]


def test_without_an_event_stream_every_refresh_lists():
    now = [100.0]
    c, cri = make(now)
    for _ in range(3):
        now[0] += 2
        c.refresh()
    assert cri.listings == 3


def test_a_quiet_node_with_live_events_is_listed_once_and_still_shown():
    now = [100.0]
    c, cri = make(now)
    c.events_live = True
    pictures = []
    for _ in range(5):
        now[0] += 2
        pictures.append(c.refresh())
    assert cri.listings == 1
    assert all(states(p) == [("app", "RUNNING")] for p in pictures)
    assert all(p.pods[0].name == "web" for p in pictures)
    assert pictures[-1].taken_at == now[0]  # a new picture each time, not the old one again


def test_an_event_makes_the_next_refreshes_list_until_cri_has_settled():
    now = [100.0]
    c, cri = make(now)
    c.events_live = True
    c.refresh()
    cri.state = "EXITED"  # the container exited; CRI's list says so
    now[0] += 2
    assert states(c.refresh()) == [("app", "RUNNING")]  # no event yet: the list is not read
    c.note_task_event()  # containerd announces it
    now[0] += 1
    assert states(c.refresh()) == [("app", "EXITED")]
    listed = cri.listings
    now[0] += collector_module.LISTS_SETTLE_S - 2
    c.refresh()
    assert cri.listings == listed + 1  # still inside the settle window: CRI may still be catching up
    now[0] += 3
    c.refresh()
    now[0] += 2
    c.refresh()
    assert cri.listings == listed + 1  # quiet again


def test_old_lists_and_a_user_refresh_are_listed_again():
    now = [100.0]
    c, cri = make(now)
    c.events_live = True
    c.refresh()
    now[0] += 2
    c.refresh(relist=True)  # ctrl-r
    assert cri.listings == 2
    now[0] += collector_module.LISTS_MAX_AGE_S + 1
    c.refresh()
    assert cri.listings == 3


def test_a_failed_listing_is_never_covered_by_the_old_lists():
    now = [100.0]
    c, cri = make(now)
    c.events_live = True
    c.refresh()
    cri.down = Unreachable("containerd is not answering")
    c.note_task_event()
    now[0] += 1
    failed = c.refresh()
    assert failed.stale
    cri.down = None
    now[0] += collector_module.LISTS_SETTLE_S + 1  # past the settle window: only the failure forces a list
    cri.state = "EXITED"
    back = c.refresh()
    assert not back.stale and states(back) == [("app", "EXITED")]


def test_the_lists_are_read_again_when_the_event_stream_goes_away():
    now = [100.0]
    c, cri = make(now)
    c.events_live = True
    c.refresh()
    c.events_live = False
    now[0] += 2
    c.refresh()
    assert cri.listings == 2
