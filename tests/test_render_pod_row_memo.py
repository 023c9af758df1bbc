"""The pods view's row memo: an idle pod (the very same PodRow object) renders as pod_row would, AGE included."""
from __future__ import annotations

from dataclasses import replace

from n9s.render import views as r

from test_render_golden import NOW, picture


def test_rows_from_the_memo_are_the_rows_the_renderer_makes_as_time_passes():
    pods = picture().pods
    memo = r.PodRowMemo()
    for now in (NOW, NOW + 0.4, NOW + 2.0, NOW + 61.0, NOW + 3 * 3600.0):
        assert memo.render(pods, now) == [r.pod_row(p, now) for p in pods]


def test_a_pod_whose_age_did_not_move_keeps_its_row_object():
    pods = picture().pods
    memo = r.PodRowMemo()
    first = memo.render(pods, NOW)
    again = memo.render(pods, NOW + 0.3)  # the pods are minutes old: "10m" does not move in 0.3 s
    assert [a is b for a, b in zip(first, again)] == [True] * len(pods)


def test_a_changed_pod_is_rendered_afresh():
    pods = list(picture().pods)
    memo = r.PodRowMemo()
    memo.render(pods, NOW)
    busy = replace(pods[0], figures=replace(pods[0].figures, cpu_cores=1.5, memory_working_set_bytes=3 << 20))
    pods[0] = busy
    rows = memo.render(pods, NOW + 2.0)
    assert rows[0] == r.pod_row(busy, NOW + 2.0)
    assert rows[0].cells[r.POD_COLUMNS.index(r.Column("CPU", numeric=True))] == "1500m"


def test_the_memo_holds_only_the_last_renders_pods():
    pods = picture().pods
    memo = r.PodRowMemo()
    memo.render(pods, NOW)
    memo.render(pods[:1], NOW)
    assert [p.id for p in memo.held()] == [pods[0].id]


def test_each_renderer_keeps_its_own_rows_and_the_views_keep_none():
    from n9s.render.viewspec import find_view

    pods_view = find_view("pods")
    p = picture()
    screen, other = r.RenderMemo(), r.RenderMemo()
    first = pods_view.render(p, NOW, None, screen)
    assert [a is b for a, b in zip(first, pods_view.render(p, NOW + 0.3, None, screen))] == [True] * len(first)
    theirs = pods_view.render(p, NOW + 0.3, None, other)
    assert theirs == first and not any(a is b for a, b in zip(theirs, first))  # another screen's memo
    assert [x.id for x in screen.pods.held()] == [x.id for x in p.pods]
    # Without a memo of its own a render keeps nothing between calls (no state in the module).
    plain = pods_view.render(p, NOW, None)
    assert plain == first and not any(a is b for a, b in zip(pods_view.render(p, NOW, None), plain))
