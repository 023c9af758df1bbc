"""Renderers under hostile strings: any names, labels, annotations, images, reasons, messages, process names and
paths, through every table view, the node overview, the events view and the container detail. Every cell that
reaches the screen must be printable (no ESC, C0 or C1 controls, no bidi overrides) and of bounded length."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from n9s.model.detail import ContainerDetail
from n9s.model.joins import RESTART_ANNOTATION, build_pods, container_restarts
from n9s.model.picture import (
    ContainerRow,
    ExecRow,
    FilesystemRow,
    Figures,
    ImageRow,
    NodeInfo,
    NodePicture,
    SnapshotRow,
    SourceHealth,
    TaskRow,
)
from n9s.render import views as r
from n9s.render.detail import detail_sections
from n9s.render.events import render_events
from n9s.render.node import render_node
from n9s.core.sanitize import is_safe_text
from n9s.sources.procs import ProcessRow

NOW = 1_700_000_000.0
MAX_CELL = 400  # the longest cell any renderer may produce (event messages are cut at 300)

ESC = "\x1b"
_PIECES = [ESC, "[", "]", "2J", "H", "10;20H", "?1049h", "\x07", "\x9b", "\x9c", "\x9d", "\x90", "\\", "0;", "52;c;",
           "P", "_", "\n", "\r", "\t", "\x00", "\x7f", "\x85", "\u202e", "\u2066", "\u2028", "\ud800", "é", "日本",
           "m", ";", "1", " ", "=", "/", "a"]
hostile = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(_PIECES), max_size=40).map("".join),
    # long values: 1 KiB .. 12 KiB of one piece
    st.builds(lambda piece, n: piece * n, st.sampled_from(["A", f"{ESC}[2J", "日", "\t", "\n"]),
              st.integers(300, 1500)),
)
labels = st.dictionaries(hostile, hostile, max_size=6)
counts = st.one_of(st.none(), st.integers(0, 2**63))
small = st.integers(0, 2**31)


@st.composite
def sandboxes(draw, sid):
    return SimpleNamespace(
        id=sid, name=draw(hostile), namespace=draw(hostile), uid=draw(hostile),
        state=draw(st.sampled_from(["READY", "NOTREADY"])), attempt=draw(st.integers(0, 5)),
        created_at_ns=draw(st.integers(0, int(NOW * 1e9))), labels=draw(labels), annotations=draw(labels),
    )


@st.composite
def figures(draw):
    return Figures(
        cpu_cores=draw(st.one_of(st.none(), st.floats(0, 1e4))), cpu_usage_ns=draw(counts),
        cpu_nr_periods=draw(counts), cpu_nr_throttled=draw(counts), cpu_throttled_ns=draw(counts),
        memory_working_set_bytes=draw(counts), memory_usage_bytes=draw(counts), memory_rss_bytes=draw(counts),
        memory_cache_bytes=draw(counts), memory_limit_bytes=draw(counts), memory_unlimited=draw(st.booleans()),
        pids_current=draw(counts), pids_max=draw(counts), oom_kills=draw(counts), io_read_bytes=draw(counts),
        io_write_bytes=draw(counts), psi=draw(st.dictionaries(hostile, st.floats(0, 100), max_size=3)),
    )


@st.composite
def containers(draw, sandbox):
    state = draw(st.sampled_from(["CREATED", "RUNNING", "EXITED", "UNKNOWN"]))
    return ContainerRow(
        id=draw(hostile), sandbox_id=sandbox.id, name=draw(hostile), attempt=draw(small), image=draw(hostile),
        image_ref=draw(hostile), state=state, created_at_ns=draw(st.integers(0, int(NOW * 1e9))),
        namespace=sandbox.namespace, pod_name=sandbox.name, pod_uid=sandbox.uid, labels=draw(labels),
        annotations=draw(labels), restarts=draw(small), pid=draw(st.one_of(st.none(), small)),
        task_status=draw(st.one_of(st.none(), hostile)),
        exit_code=draw(st.one_of(st.none(), st.integers(-2**31, 2**31))),
        reason=draw(hostile), finished_at_ns=0, log_path=draw(hostile), cgroup_path=draw(hostile),
        figures=draw(figures()), cpu_history=tuple(draw(st.lists(st.floats(0, 64), max_size=5))),
        memory_history=tuple(draw(st.lists(st.integers(0, 2**40), max_size=5))),
    )


@st.composite
def pictures(draw):
    boxes = [draw(sandboxes(f"sb{i}")) for i in range(draw(st.integers(1, 3)))]
    rows = [draw(containers(box)) for box in boxes for _ in range(draw(st.integers(0, 2)))]
    pods = build_pods(boxes, rows)
    api = SimpleNamespace(status_text=draw(hostile), restarts=draw(small), cpu_request_m=draw(small),
                          cpu_limit_m=draw(small), memory_request_bytes=draw(small), memory_limit_bytes=draw(small),
                          phase=draw(hostile))
    pods = [p if draw(st.booleans()) else _with(p, api=api, flags=tuple(draw(st.lists(hostile, max_size=2))))
            for p in pods]
    node = NodeInfo(
        hostname=draw(hostile), runtime_name=draw(hostile), runtime_version=draw(hostile),
        runtime_api_version=draw(hostile), containerd_version=draw(hostile),
        conditions=tuple(draw(st.lists(st.tuples(hostile, st.booleans(), hostile, hostile), max_size=3))),
        cpu_count=2, cpu_percent=12.5, memory_total_bytes=8 << 30, memory_available_bytes=4 << 30,
        load=(1.0, 0.5, 0.25), uptime_s=1000.0,
        filesystems=(FilesystemRow(draw(hostile), draw(hostile), 100 << 30, 5 << 30, 1000, 10),
                     FilesystemRow(draw(hostile), draw(hostile), None, None, None, None)),
        failed_plugins=tuple(draw(st.lists(st.tuples(hostile, hostile), max_size=2))),
        snapshotter=draw(hostile), cgroup_mode=draw(hostile),
    )
    tasks = tuple(TaskRow(draw(hostile), draw(small), draw(hostile), draw(small), 0, draw(hostile), draw(hostile),
                          draw(hostile)) for _ in range(draw(st.integers(0, 2))))
    snapshots = tuple(SnapshotRow(draw(hostile), draw(hostile), draw(hostile), 0, draw(counts), draw(counts),
                                  draw(hostile), draw(hostile), draw(st.booleans()))
                      for _ in range(draw(st.integers(0, 2))))
    images = tuple(ImageRow(draw(hostile), tuple(draw(st.lists(hostile, max_size=2))),
                            tuple(draw(st.lists(hostile, max_size=2))), draw(small), draw(st.booleans()),
                            tuple(draw(st.lists(hostile, max_size=5))))
                   for _ in range(draw(st.integers(0, 2))))
    when = datetime(2023, 11, 14, tzinfo=timezone.utc)
    events = tuple(SimpleNamespace(
        type=draw(hostile), reason=draw(hostile), message=draw(hostile), object_kind=draw(hostile),
        object_name=draw(hostile), object_namespace=draw(hostile), count=draw(small), first_time=when,
        last_time=draw(st.one_of(st.none(), st.just(when))), namespace=draw(hostile), name=draw(hostile),
    ) for _ in range(draw(st.integers(0, 3))))
    api_node = SimpleNamespace(
        name=draw(hostile), kubelet_version=draw(hostile),
        conditions=tuple(SimpleNamespace(type=draw(hostile), status=draw(st.sampled_from(["True", "False", "x"])),
                                         reason=draw(hostile), message=draw(hostile)) for _ in range(2)),
        allocatable=SimpleNamespace(cpu_m=2000, memory_bytes=8 << 30, pods=110),
        taints=tuple(SimpleNamespace(key=draw(hostile), value=draw(hostile), effect=draw(hostile))
                     for _ in range(draw(st.integers(0, 2)))),
    )
    health = (SourceHealth("runtime", "ok"), SourceHealth(draw(hostile), "unreachable", draw(hostile)))
    return NodePicture(taken_at=NOW, node=node, pods=tuple(pods), containers=tuple(rows), tasks=tasks,
                       snapshots=snapshots, images=images, health=health,
                       api=SimpleNamespace(node=api_node, events=events))


def _with(pod, **changes):
    from dataclasses import replace

    return replace(pod, **changes)


def _check(cells, where: str) -> None:
    for cell in cells:
        assert isinstance(cell, str), (where, cell)
        assert is_safe_text(cell), (where, cell)
        assert len(cell) <= MAX_CELL, (where, len(cell), cell[:80])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pictures())
def test_every_view_cell_is_printable_and_bounded(picture):
    views = {
        "pods": r.render_pods(picture, NOW),
        "containers": r.render_containers(picture, NOW),
        "containers of a pod": r.render_containers(picture, NOW, picture.pods[0].id),
        "tasks": r.render_tasks(picture, NOW),
        "snapshots": r.render_snapshots(picture, NOW),
        "images": r.render_images(picture, NOW),
        "node": render_node(picture, NOW),
        "events": render_events(picture, NOW),
    }
    for name, rows in views.items():
        for row in rows:
            _check(row.cells, name)
            assert len(row.text) <= MAX_CELL * len(row.cells)  # what the / filter scans is bounded too


@st.composite
def details(draw):
    sandbox = draw(sandboxes("sb"))
    procs = tuple(ProcessRow(pid=draw(small), ppid=draw(small), user=draw(hostile),
                             cpu_percent=draw(st.one_of(st.none(), st.floats(0, 800))), rss_bytes=draw(counts),
                             command=draw(hostile), depth=draw(st.integers(0, 2000)))
                  for _ in range(draw(st.integers(0, 3))))
    mounts = tuple(draw(st.lists(st.tuples(hostile, hostile, st.booleans()), max_size=3)))
    execs = tuple(ExecRow(container_id=draw(hostile), exec_id=draw(hostile), pid=draw(small), command=draw(hostile),
                          started_at=draw(st.one_of(st.none(), st.floats(0, NOW))),
                          owner=draw(st.sampled_from(("", "n9s", "n9s, kept"))))
                  for _ in range(draw(st.integers(0, 3))))
    return ContainerDetail(
        row=draw(containers(sandbox)), figures=draw(figures()), processes=procs, execs=execs, labels=draw(labels),
        annotations=draw(labels), mounts=mounts, snapshot_key=draw(hostile), snapshotter=draw(hostile),
        log_path=draw(hostile), cgroup_path=draw(hostile), error=draw(hostile),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(details())
def test_every_detail_line_is_printable_and_bounded(detail):
    sections = detail_sections(detail, NOW)
    assert [title for title, _ in sections][:5] == ["Figures", "Processes", "Execs", "Labels", "Annotations"]
    for title, lines in sections:
        _check([title], "section title")
        for what, value in lines:
            _check([what, value], title)


def test_an_absurd_restart_count_annotation_falls_back_to_the_attempt():
    # The kubelet writes a small number; anyone with the CRI socket can write 4,000 digits.
    container = SimpleNamespace(annotations={RESTART_ANNOTATION: "9" * 4000}, attempt=3)
    assert container_restarts(container) == 3
    container = SimpleNamespace(annotations={RESTART_ANNOTATION: "12"}, attempt=3)
    assert container_restarts(container) == 12
