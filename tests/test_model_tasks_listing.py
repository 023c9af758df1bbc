"""Tasks.List makes containerd ask every shim for its state: with a live event stream the collector reads it
only when an event says tasks changed, when the tasks view asks, or every TASKS_MAX_AGE_S as a safety net."""
from __future__ import annotations

from fake_runtime import FakeContainerd, FakeCri, running_task
from n9s.model import collector as collector_module
from n9s.model.collector import Collector


def make(clock):
    ctd = FakeContainerd([running_task("c1", 42)])
    return Collector(FakeCri(), ctd, None, pods_dir="/nonexistent", clock=clock), ctd


def test_the_first_picture_goes_without_a_task_list_unless_a_view_asks():
    c, ctd = make(lambda: 100.0)
    assert c.refresh().tasks == () and ctd.listings == 0
    c2, ctd2 = make(lambda: 100.0)
    assert c2.refresh(tasks=True).tasks[0].pid == 42 and ctd2.listings == 1


def test_without_an_event_stream_every_later_refresh_lists_tasks():
    c, ctd = make(lambda: 100.0)
    for _ in range(4):
        c.refresh()
    assert ctd.listings == 3


def test_with_live_events_only_changes_view_or_age_list_tasks():
    now = [100.0]
    c, ctd = make(lambda: now[0])
    c.events_live = True
    c.refresh()  # the first picture: no list
    now[0] += 1
    picture = c.refresh()
    assert ctd.listings == 1 and picture.tasks[0].pid == 42
    now[0] += 2
    picture = c.refresh()
    assert ctd.listings == 1 and picture.tasks[0].pid == 42  # the last list still joins
    c.note_task_event()
    now[0] += 2
    c.refresh()
    assert ctd.listings == 2
    now[0] += 2
    c.refresh(tasks=True)  # the tasks view always wants a fresh list
    assert ctd.listings == 3
    now[0] += collector_module.TASKS_MAX_AGE_S + 1
    c.refresh()
    assert ctd.listings == 4


def test_a_recent_enough_task_list_is_used_again_when_asked():
    now = [100.0]
    c, ctd = make(lambda: now[0])
    c.refresh()
    c.list_tasks()  # what a dump does between its samples
    now[0] += 1
    picture = c.refresh(tasks_max_age_s=5)  # a dump's second sample
    assert ctd.listings == 1 and picture.tasks[0].pid == 42
    now[0] += 10
    c.refresh(tasks_max_age_s=5)
    assert ctd.listings == 2  # older than allowed: listed again


def test_lists_read_ahead_serve_the_next_refresh_only():
    class ImageCri(FakeCri):
        listings = 0

        def list_images(self):
            ImageCri.listings += 1
            return []

    c = Collector(ImageCri(), FakeContainerd([running_task("c1", 42)]), None, pods_dir="/nonexistent", clock=lambda: 100.0)
    c.refresh()
    c.prefetch(images=True)  # a dump, between its samples
    assert ImageCri.listings == 1
    assert c.refresh(images=True).images == () and ImageCri.listings == 1  # the list read ahead
    c.prefetch(images=True)
    c.refresh()  # a refresh that did not want images drops what was read ahead
    c.refresh(images=True)
    assert ImageCri.listings == 3
