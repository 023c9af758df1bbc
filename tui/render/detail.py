"""The container detail as sections of (what, value) lines, sanitised."""
from __future__ import annotations

from n9s.model.detail import ContainerDetail
from n9s.core.sanitize import sanitize_label
from n9s.render import format as fmt

S = sanitize_label
MAX_INDENT = 16  # a deeper process tree is drawn at this depth, so the column stays narrow
# Rows per section: the detail is redrawn on every refresh, and 10,000 labels took seconds per key press.
MAX_SECTION_ROWS = 200


def _capped(rows: list[tuple[str, str]], noun: str, total: int | None = None) -> list[tuple[str, str]]:
    """At most MAX_SECTION_ROWS rows, then one saying how many more there are."""
    total = len(rows) if total is None else total
    if total <= MAX_SECTION_ROWS:
        return rows
    return rows[:MAX_SECTION_ROWS] + [("…", f"{total - MAX_SECTION_ROWS} more {noun} (d: describe shows all)")]


def _percent(value: float | None) -> str:
    return fmt.UNKNOWN if value is None else f"{value}%"


def owner_text(owner: str) -> str:
    return f"started by {owner}" if owner else "not by n9s"


def exec_line(e, now: float) -> tuple[str, str]:
    """One exec process: pid | command, since when, who started it, its exec id."""
    since = fmt.age(int(e.started_at * 1_000_000_000), now) + " ago" if e.started_at else "?"
    return (str(e.pid), f"{S(e.command, 120) or '?'}  since {since}  {owner_text(e.owner)}  exec {S(e.exec_id[:12])}")


def detail_sections(d: ContainerDetail, now: float) -> list[tuple[str, list[tuple[str, str]]]]:
    r, f = d.row, d.figures
    figures = [
        ("state", S(r.state, 20) + (f" exit {r.exit_code} {S(r.reason, 40)}" if r.state == "EXITED" else "")),
        ("pod", S(r.pod_key)),
        ("image", S(r.image, 120)),
        ("attempt / restarts", f"{r.attempt} / {r.restarts}"),
        ("pid", fmt.count(r.pid)),
        ("cpu", fmt.cpu(f.cpu_cores) + "  " + fmt.sparkline(r.cpu_history)),
        ("throttled", f"{fmt.count(f.cpu_nr_throttled)} of {fmt.count(f.cpu_nr_periods)} periods, "
                      f"{fmt.count(None if f.cpu_throttled_ns is None else f.cpu_throttled_ns // 1_000_000)} ms"),
        ("memory (working set)", fmt.mem(f.memory_working_set_bytes) + "  " + fmt.sparkline(r.memory_history)),
        ("memory usage / rss / cache", f"{fmt.mem(f.memory_usage_bytes)} / {fmt.mem(f.memory_rss_bytes)} / "
                                       f"{fmt.mem(f.memory_cache_bytes)}"),
        ("memory limit", fmt.limit(f.memory_limit_bytes, f.memory_unlimited)
         + (f" ({fmt.percent(f.memory_percent_of_limit)} used)" if f.memory_percent_of_limit is not None else "")),
        ("pids", f"{fmt.count(f.pids_current)} of {'no limit' if f.pids_unlimited else fmt.count(f.pids_max)}"),
        ("oom kills", fmt.count(f.oom_kills)),
        ("io read / write", f"{fmt.mem(f.io_read_bytes)} / {fmt.mem(f.io_write_bytes)}"),
    ]
    if f.psi:
        figures.append(("pressure (avg10)", S(", ".join(f"{k} {v:.2f}" for k, v in sorted(f.psi.items())), 200)))
    sections = [("Figures", figures)]
    procs = [
        (f"{'  ' * min(p.depth, MAX_INDENT)}{p.pid}", f"{S(p.user, 16)}  cpu {_percent(p.cpu_percent)}"
                                      f"  rss {fmt.mem(p.rss_bytes)}  {S(p.command, 160)}")
        for p in d.processes
    ]
    sections.append(("Processes", _capped(procs, "processes") or [("-", "no running task")]))
    execs = [exec_line(e, now) for e in d.execs]
    sections.append(("Execs", _capped(execs, "execs") or [("-", "none" if r.state == "RUNNING" else "no running task")]))
    labels = sorted(d.labels.items())[:MAX_SECTION_ROWS + 1]
    sections.append(("Labels", _capped([(S(k), S(v, 160)) for k, v in labels], "labels", len(d.labels))
                     or [("-", "")]))
    annotations = sorted(d.annotations.items())[:MAX_SECTION_ROWS + 1]
    sections.append(("Annotations", _capped([(S(k), S(v, 160)) for k, v in annotations], "annotations",
                                            len(d.annotations)) or [("-", "")]))
    sections.append(("Mounts", _capped([(S(c), S(h, 160) + (" (ro)" if ro else "")) for c, h, ro in d.mounts],
                                       "mounts") or [("-", "")]))
    sections.append((
        "Files",
        [
            ("id", S(r.id)),
            ("snapshot", f"{S(d.snapshot_key)} ({S(d.snapshotter)})" if d.snapshot_key else "-"),
            ("log", S(d.log_path, 200) or "-"),
            ("cgroup", S(d.cgroup_path, 200) or "-"),
        ],
    ))
    if d.error:
        sections.append(("Errors", [("status", S(d.error, 200))]))
    return sections
