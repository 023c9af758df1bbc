"""The log view on a real container's log while the file is rotated (the kubelet's way), truncated in place
(copytruncate) or deleted: following goes on in the new file, or the view says the file is gone, and no line is
shown twice. What the view holds is checked through its own save (ctrl+s), the whole of what it shows."""
from __future__ import annotations

import os
import re
import shutil

import pytest

from pilot_helpers import make_app, table_rows, wait_for

from n9s.demo import ContainerSpec, PodSpec
from n9s.ui.screens.logs import LogsScreen
from n9s.sources.cri import CriClient
from n9s.widgets.log_view import LogView
from n9s.widgets.resource_table import ResourceTable

pytestmark = pytest.mark.node

COUNTER = 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.02; done'


@pytest.fixture
def counter_pod(demo_node):
    pod = demo_node.run_pod(PodSpec(name="log-faults", namespace="faults",
                                    containers=[ContainerSpec("counter", ["sh", "-c", COUNTER])]))
    yield pod
    demo_node.remove_pod(pod)


def view(app) -> LogView:
    return app.screen.query_one(LogView)


def header(app) -> str:
    return str(app.screen.query_one("#log-header").render())


def shown_numbers(app) -> list[int]:
    return [int(n) for n in re.findall(r"tick (\d+)", "\n".join(view(app).visible_text()))]


async def saved_numbers(pilot, app) -> list[int]:
    """Every line the view holds, as the user saves them."""
    before = view(app).last_saved
    await pilot.press("ctrl+s")
    assert await wait_for(pilot, lambda: view(app).last_saved not in (None, before), timeout=10)
    with open(view(app).last_saved, encoding="utf-8") as f:
        return [int(n) for n in re.findall(r"tick (\d+)", f.read())]


async def open_counter_logs(pilot, app, pod) -> None:
    await pilot.press("colon", *"co", "enter")
    assert await wait_for(pilot, lambda: any(r[:2] == ["counter", pod.key] for r in table_rows(app)))
    index = next(i for i, r in enumerate(table_rows(app)) if r[:2] == ["counter", pod.key])
    app.screen.query_one(ResourceTable).move_cursor(row=index)
    await pilot.press("l")
    assert await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen) and bool(shown_numbers(app)),
                          timeout=10)


async def grows_past(pilot, app, number: int) -> bool:
    return await wait_for(pilot, lambda: shown_numbers(app) and shown_numbers(app)[-1] > number + 20, timeout=10)


def no_repeats(numbers: list[int]) -> bool:
    return len(numbers) == len(set(numbers)) and numbers == sorted(numbers)


async def test_rotation_in_the_log_view_continues_without_loss_or_repeat(demo_node, counter_pod, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    path = str(counter_pod.log_paths["counter"])
    cid = counter_pod.container("counter")
    app = make_app(demo_node)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_counter_logs(pilot, app, counter_pod)
        with CriClient(str(demo_node.address)) as cri:
            for round_ in range(2):  # the kubelet's rotation: rename, then ask containerd to reopen the path
                last = shown_numbers(app)[-1]
                os.rename(path, f"{path}.2026010{round_}-000000")
                cri.reopen_container_log(cid)
                assert await grows_past(pilot, app, last), (header(app), shown_numbers(app))
        assert "following" in header(app) and "gone" not in header(app)
        numbers = await saved_numbers(pilot, app)
        assert numbers[0] == 1
        assert numbers == list(range(1, numbers[-1] + 1)), "a line was lost or repeated across the rotations"


async def test_copytruncate_in_the_log_view_says_so_and_repeats_nothing(demo_node, counter_pod, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    path = str(counter_pod.log_paths["counter"])
    app = make_app(demo_node)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_counter_logs(pilot, app, counter_pod)
        await saved_numbers(pilot, app)
        # logrotate's copytruncate: copy the file, then cut the original to zero in place
        shutil.copyfile(path, f"{path}.1")
        copied = [int(n) for n in re.findall(rb"tick (\d+)", open(f"{path}.1", "rb").read())]
        os.truncate(path, 0)
        notes = []
        original_notify = app.notify
        monkeypatch.setattr(app, "notify", lambda message, **kw: (notes.append(message),
                                                                  original_notify(message, **kw)))
        assert await wait_for(pilot, lambda: any("truncated" in n for n in notes), timeout=10), notes
        assert await grows_past(pilot, app, copied[-1]), shown_numbers(app)
        assert "following" in header(app)
        numbers = await saved_numbers(pilot, app)
        assert no_repeats(numbers), "a line is shown twice after the copytruncate"
        assert numbers[-1] > copied[-1] + 20
        with open(path, "rb") as f:
            assert b"\0" not in f.read(4096), "the writer did not append (a sparse file): not a real copytruncate"


async def test_deleted_log_says_gone_then_follows_the_reopened_file(demo_node, counter_pod, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    path = str(counter_pod.log_paths["counter"])
    cid = counter_pod.container("counter")
    app = make_app(demo_node)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_counter_logs(pilot, app, counter_pod)
        os.unlink(path)
        assert await wait_for(pilot, lambda: "file is gone" in header(app), timeout=10), header(app)
        await pilot.press("down")  # still answering keys
        # The runtime opens a new file at the path: the view picks it up and follows on.
        last = shown_numbers(app)[-1]
        with CriClient(str(demo_node.address)) as cri:
            cri.reopen_container_log(cid)
        await pilot.press("G")
        assert await wait_for(pilot, lambda: "file is gone" not in header(app), timeout=10), header(app)
        assert await grows_past(pilot, app, last), shown_numbers(app)
        numbers = await saved_numbers(pilot, app)
        assert no_repeats(numbers), "a line is shown twice after the deletion"
