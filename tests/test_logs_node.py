"""Logs of real containers on the demo node: follow, merged pod logs, previous attempt, a real rotation through CRI
ReopenContainerLog, and long lines containerd splits into partial pieces."""
from __future__ import annotations

import asyncio
import os
import re
import time

import pytest
from pilot_helpers import make_app, table_rows, wait_for

from n9s.demo import ContainerSpec, PodSpec
from n9s.sources.cri import CriClient
from n9s.sources.logs.follow import LogFollower
from n9s.sources.logs.files import tail_records
from n9s.widgets.log_view import LogView

pytestmark = pytest.mark.node


def screen_text(app) -> str:
    views = app.screen.query(LogView)
    return "\n".join(views.first().visible_text()) if views else ""


async def open_container_logs(pilot, app, pod_key: str, container: str) -> None:
    await pilot.press("colon", *"co", "enter")
    ns, pod = pod_key.split("/")
    assert await wait_for(pilot, lambda: any(r[:2] == [container, pod_key] for r in table_rows(app)))
    index = next(i for i, r in enumerate(table_rows(app)) if r[:2] == [container, pod_key])
    from n9s.widgets.resource_table import ResourceTable

    app.screen.query_one(ResourceTable).move_cursor(row=index)
    await pilot.press("l")
    assert await wait_for(pilot, lambda: bool(app.screen.query(LogView)), timeout=5)


async def test_follow_shows_each_new_line_the_container_writes(demo_node):
    # Following brings it: the view is neither reopened nor scrolled meanwhile.
    web = demo_node.pods["default/web"]
    path = str(web.log_paths["logger"])
    app = make_app(demo_node)
    async with app.run_test(size=(140, 30)) as pilot:
        await open_container_logs(pilot, app, "default/web", "logger")
        assert await wait_for(pilot, lambda: "served" in screen_text(app), timeout=10)

        def last_in(text: str) -> int:
            found = re.findall(r"request (\d+) served", text)
            return max(map(int, found)) if found else 0

        with open(path, "rb") as f:
            shown_now = last_in(screen_text(app))
            target = max(shown_now, last_in(f.read().decode(errors="replace"))) + 1
        written = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while loop.time() < deadline:
            if not written:
                with open(path, "rb") as f:
                    written = last_in(f.read().decode(errors="replace")) >= target
            if last_in(screen_text(app)) >= target:
                break
            await pilot.pause(0.02)
        assert written, "the container did not write"
        assert last_in(screen_text(app)) >= target, screen_text(app)


async def test_pod_logs_merge_containers_with_prefixes(demo_node):
    app = make_app(demo_node)
    async with app.run_test(size=(160, 30)) as pilot:
        assert await wait_for(pilot, lambda: any(r[:2] == ["default", "web"] for r in table_rows(app)))
        from n9s.widgets.resource_table import ResourceTable

        index = next(i for i, r in enumerate(table_rows(app)) if r[:2] == ["default", "web"])
        app.screen.query_one(ResourceTable).move_cursor(row=index)
        await pilot.press("l")
        assert await wait_for(pilot, lambda: "served" in screen_text(app), timeout=10)
        assert "logger" in screen_text(app)


def test_previous_attempt_and_partial_lines_and_real_rotation(demo_node):
    spec = PodSpec(name="logs-rotate", namespace="logtest", containers=[
        ContainerSpec("app", ["sh", "-c", "echo attempt zero; exit 1"]),
    ])
    pod = demo_node.run_pod(spec)
    try:
        demo_node.wait_for_state(pod.container("app"), "CONTAINER_EXITED", timeout=10)
        # The kubelet's restart: attempt 1 of the same container, logging to 1.log; it writes a numbered line every
        # 10 ms, a 40,000-byte line (containerd splits it into 16 KiB partial pieces), and keeps counting.
        script = ("i=0; while [ $i -lt 150 ]; do i=$((i+1)); echo \"seq $i\"; sleep 0.01; done; "
                  "head -c 40000 /dev/zero | tr '\\0' 'x'; echo; "
                  "while :; do i=$((i+1)); echo \"seq $i\"; sleep 0.01; done")
        cid = demo_node.add_container(pod, ContainerSpec("app", ["sh", "-c", script], attempt=1))
        path = str(pod.log_paths["app"])
        assert path.endswith("/app/1.log")
        from n9s.sources.logs.history import previous_attempt_path

        previous = previous_attempt_path(path)
        assert previous is not None and previous.endswith("/app/0.log")
        assert [r.content for r in tail_records(previous, 10)] == [b"attempt zero"]

        deadline = time.monotonic() + 10
        while not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        follower = LogFollower(path, from_start=True)
        seen: list[bytes] = []

        def drain(seconds: float) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                batch = follower.poll(10_000)
                seen.extend(r.content for r in batch.records)
                time.sleep(0.05)

        drain(2.5)
        with CriClient(str(demo_node.address)) as cri:
            for round_ in range(3):  # rotate as the kubelet does: rename, then ask containerd to reopen
                os.rename(path, f"{path}.2026112{round_}-000000")
                cri.reopen_container_log(cid)
                drain(0.8)
        # Keep reading until the long line and some lines after it came through (a loaded machine writes slower).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            drain(0.5)
            after = [c for c in seen[-5:] if c.startswith(b"seq ")]
            if any(c.startswith(b"xxxx") for c in seen) and after:
                break
        follower.close()
        long_lines = [c for c in seen if c.startswith(b"xxxx")]
        assert long_lines == [b"x" * 40000], [len(c) for c in long_lines]  # P pieces joined with their F
        numbers = [int(c.split()[1]) for c in seen if c.startswith(b"seq ")]
        assert numbers[0] == 1 and len(numbers) > 100
        assert numbers == list(range(1, len(numbers) + 1)), "a line was lost or repeated across rotations"
        rotated = sorted(p for p in os.listdir(os.path.dirname(path)) if p.startswith("1.log."))
        assert len(rotated) == 3
        # Lines were written into every file, so the follower really crossed each rotation.
        last_rotated = f"{os.path.dirname(path)}/{rotated[-1]}"
        assert tail_records(last_rotated, 1, with_history=False) and tail_records(path, 1, with_history=False)
    finally:
        demo_node.remove_pod(pod)


async def test_previous_logs_key_opens_the_earlier_attempt(demo_node):
    spec = PodSpec(name="logs-prev", namespace="logtest", containers=[
        ContainerSpec("app", ["sh", "-c", "echo from attempt zero; exit 1"])])
    pod = demo_node.run_pod(spec)
    try:
        demo_node.wait_for_state(pod.container("app"), "CONTAINER_EXITED", timeout=10)
        demo_node.add_container(pod, ContainerSpec("app", ["sh", "-c", "echo from attempt one; sleep 600"], attempt=1))
        app = make_app(demo_node)
        async with app.run_test(size=(140, 30)) as pilot:
            await pilot.press("colon", *"co", "enter")
            assert await wait_for(pilot, lambda: any(r[:3] == ["app", "logtest/logs-prev", "RUNNING"]
                                                     for r in table_rows(app)))
            index = next(i for i, r in enumerate(table_rows(app)) if r[:3] == ["app", "logtest/logs-prev", "RUNNING"])
            from n9s.widgets.resource_table import ResourceTable

            app.screen.query_one(ResourceTable).move_cursor(row=index)
            await pilot.press("p")
            assert await wait_for(pilot, lambda: "from attempt zero" in screen_text(app), timeout=10)
            assert "from attempt one" not in screen_text(app)
    finally:
        demo_node.remove_pod(pod)
