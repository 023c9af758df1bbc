"""Collect figures over runs, judge them against the issue's targets, print them as a table."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Callable

from bench.scenarios import Measure

# figure -> (label, unit)
LABELS: dict[str, tuple[str, str]] = {
    "floor.cpu_ms": ("refresh raw work, CPU (n9s: Collector.refresh as on the containers view, no UI)", "ms"),
    "floor.wall_ms": ("refresh raw work, wall (n9s: Collector.refresh)", "ms"),
    "floor.pods_view_cpu_ms": ("refresh raw work, CPU, as on the pods view (pod cgroups only; a quiet node: no list)", "ms"),
    "floor.pods_view_listed_cpu_ms": ("refresh raw work, CPU, as on the pods view right after an event (CRI listed)",
                                      "ms"),
    "refresh.cpu_ms_per_refresh": ("idle on pods view: n9s CPU per refresh (baseline: floor)", "ms"),
    "refresh.core_pct": ("idle on pods view: n9s CPU, % of one core", "%"),
    "refresh.wall_ms": ("idle on pods view: one refresh's wall time (baseline: floor)", "ms"),
    "refresh.bare_textual_ms": ("a bare Textual app, idle: CPU per refresh period (baseline: floor)", "ms"),
    "refresh.terminal_kib_s": ("idle on pods view: bytes written to the terminal", "KiB/s"),
    "refresh.rss_mib": ("idle on pods view: RSS (baseline: python + grpc + stubs)", "MiB"),
    "runtime.containerd_core_pct": ("containerd CPU with n9s (baseline: without)", "%"),
    "runtime.containerd_extra_pct": ("containerd extra CPU caused by n9s", "% core"),
    "runtime.shims_core_pct": ("all shims' CPU with n9s (baseline: without)", "%"),
    "first.painted_s": ("first full screen: spawn -> rows painted (baseline: raw script)", "s"),
    "first.self_reported_s": ("first full screen as --exit-after-first-paint reports it", "s"),
    "first.exit_s": ("first full screen run: spawn -> terminal restored", "s"),
    "first.with_cpu_s": ("spawn -> CPU column filled (second sample)", "s"),
    "keys.all_median_ms": ("keystroke -> frame, median (baseline: bare DataTable)", "ms"),
    "keys.all_p95_ms": ("keystroke -> frame, p95", "ms"),
    "keys.all_max_ms": ("keystroke -> frame, max", "ms"),
    "keys.cursor_median_ms": ("cursor keys, median", "ms"),
    "keys.filter_median_ms": ("/ filter typing, median", "ms"),
    "keys.clear_median_ms": ("esc (close prompt, clear filter), median", "ms"),
    "keys.cursor_jumps": ("refreshes that moved the cursor to another row (rows reordered)", "count"),
    "dump.interval0_s": ("n9s dump --interval 0, wall (baseline: raw script)", "s"),
    "dump.default_s": ("n9s dump (default --interval 1), wall", "s"),
    "memory.rss_end_mib": ("RSS at the end (baseline: python + grpc + stubs)", "MiB"),
    "memory.rss_peak_mib": ("RSS peak", "MiB"),
    "memory.growth_pct": ("RSS growth from minute 2 to the end", "%"),
    "follow.lines_behind": ("log follow: lines behind when the writer stops", "lines"),
    "follow.seconds_behind": ("log follow: seconds behind when the writer stops", "s"),
    "follow.catch_up_s": ("log follow: writer stops -> last line painted", "s"),
    "follow.cpu_pct": ("log follow: n9s CPU (baseline: tail -F)", "%"),
    "follow.containerd_pct": ("log follow: containerd CPU (writing the log)", "%"),
    "logopen.painted_s": ("big log (1 GiB): open -> last line painted (baseline: tail -n 200)", "s"),
    "logopen.indexed_s": ("big log: open -> whole file indexed", "s"),
    "logopen.peak_rss_mib": ("big log: peak RSS of the process", "MiB"),
    "import.cli_ms": ("import n9s.cli", "ms"),
    "import.app_path_ms": ("imports of the TUI path (importtime)", "ms"),
    "import.app_path_wall_ms": ("imports of the TUI path, wall", "ms"),
    "import.kubernetes_modules": ("kubernetes modules imported at startup", "count"),
    "import.python_start_ms": ("python -c pass (for scale)", "ms"),
}


Target = Callable[[int, float | None, float | None], tuple[str, bool | None]]


def _upper(limit: float, text: str, min_pods: int = 0) -> Target:
    def check(pods: int, value: float | None, baseline: float | None) -> tuple[str, bool | None]:
        if pods < min_pods:
            return text, None
        if value is None:
            return text, None
        return text, value <= limit
    return check


def _ratio(limit: float, text: str) -> Target:
    def check(pods: int, value: float | None, baseline: float | None) -> tuple[str, bool | None]:
        if value is None or not baseline:
            return text, None
        return text, value / baseline <= limit
    return check


def _first_screen(pods: int, value: float | None, baseline: float | None) -> tuple[str, bool | None]:
    text = "<= 1.0 s at 110, <= 2.5 s at 500"
    if value is None or pods < 110:
        return text, None
    return text, value <= (2.5 if pods >= 500 else 1.0)


def _keys(pods: int, value: float | None, baseline: float | None) -> tuple[str, bool | None]:
    text = "median <= 50 ms at 1,000 rows"
    if value is None or pods * 2 < 1000:
        return "(" + text + ")", None
    return text, value <= 50


TARGETS: dict[str, Target] = {
    "refresh.cpu_ms_per_refresh": _ratio(2.0, "<= 2 x floor"),
    "refresh.core_pct": _upper(5.0, "<= 5 % at 500 pods", min_pods=500),
    "runtime.containerd_extra_pct": _upper(1.0, "<= 1 % of a core"),
    "first.painted_s": _first_screen,
    "keys.all_median_ms": _keys,
    "keys.cursor_median_ms": _keys,
    "keys.filter_median_ms": _keys,
    "keys.cursor_jumps": _upper(0, "0"),
    "dump.interval0_s": _upper(1.5, "<= 1.5 s at 500 pods", min_pods=500),
    "memory.rss_end_mib": _upper(150, "<= 150 MiB"),
    "memory.rss_peak_mib": _upper(150, "<= 150 MiB"),
    "memory.growth_pct": _upper(5, "<= 5 %"),
    "follow.seconds_behind": _upper(1.0, "<= 1 s behind"),
    "follow.cpu_pct": _upper(50, "<= 50 % of a core"),
    "logopen.painted_s": _upper(0.3, "<= 0.3 s"),
    "import.kubernetes_modules": _upper(0, "0 (lazy)"),
}


@dataclass
class Figure:
    key: str
    pods: int  # 0 for figures that do not depend on the node's size
    n9s: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, m: Measure) -> None:
        if m.n9s is not None:
            self.n9s.append(m.n9s)
        if m.baseline is not None:
            self.baseline.append(m.baseline)
        if m.note and m.note not in self.notes:
            self.notes.append(m.note)

    @property
    def median(self) -> float | None:
        return statistics.median(self.n9s) if self.n9s else None

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline) if self.baseline else None

    @property
    def ratio(self) -> float | None:
        b = self.baseline_median
        m = self.median
        if m is None or not b:
            return None
        return m / b

    def judge(self) -> tuple[str, bool | None]:
        target = TARGETS.get(self.key)
        if target is None:
            return "", None
        return target(self.pods, self.median, self.baseline_median)

    def as_json(self) -> dict:
        text, ok = self.judge()
        return {"figure": self.key, "label": LABELS.get(self.key, (self.key, ""))[0],
                "unit": LABELS.get(self.key, ("", ""))[1], "pods": self.pods, "n9s": self.n9s,
                "baseline": self.baseline, "median": self.median, "min": min(self.n9s) if self.n9s else None,
                "max": max(self.n9s) if self.n9s else None, "baseline_median": self.baseline_median,
                "ratio": self.ratio, "target": text, "met": ok, "notes": self.notes}


class Results:
    def __init__(self) -> None:
        self.figures: dict[tuple[int, str], Figure] = {}
        self.errors: list[str] = []
        self.todo: list[str] = []

    def add(self, pods: int, measures: dict[str, Measure]) -> None:
        for key, m in measures.items():
            self.figures.setdefault((pods, key), Figure(key, pods)).add(m)

    def ordered(self) -> list[Figure]:
        order = {k: i for i, k in enumerate(LABELS)}
        return sorted(self.figures.values(), key=lambda f: (order.get(f.key, 999), f.pods))


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if abs(v) >= 0.001 else f"{v:.2g}"


def rows(results: Results, first_note_only: bool = False) -> list[list[str]]:
    out = []
    for f in results.ordered():
        label, unit = LABELS.get(f.key, (f.key, ""))
        text, ok = f.judge()
        spread = f"{_fmt(min(f.n9s))}–{_fmt(max(f.n9s))}" if len(f.n9s) > 1 else ""
        verdict = {True: "ok", False: "MISS", None: ""}[ok]
        notes = "; ".join(f.notes[:1] if first_note_only else f.notes)
        out.append([label, unit, str(f.pods) if f.pods else "", _fmt(f.median), spread, _fmt(f.baseline_median),
                    _fmt(f.ratio) if f.ratio is not None else "", text, verdict, notes])
    return out


HEADER = ["figure", "unit", "pods", "n9s median", "n9s min–max", "baseline", "ratio", "target", "met", "notes"]


def text_table(results: Results) -> str:
    table = [HEADER, *rows(results)]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER) - 1)]
    lines = []
    for r in table:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths)) + ("  " + r[-1] if r[-1] else ""))
    for e in results.errors:
        lines.append(f"ERROR {e}")
    for t in results.todo:
        lines.append(f"TODO {t}")
    return "\n".join(lines)


def markdown_table(results: Results, first_note_only: bool = False) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows(results, first_note_only):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    for t in results.todo:
        lines.append(f"| TODO: {t} |" + " |" * (len(HEADER) - 1))
    return "\n".join(lines)


def by_scale_table(results: Results) -> str:
    """One row per figure, one column per node size: `median (min–max) · base B · ×R`, and the verdicts."""
    sizes = sorted({f.pods for f in results.figures.values()})
    keys = sorted({f.key for f in results.figures.values()}, key=lambda k: list(LABELS).index(k) if k in LABELS else 999)
    head = ["figure", "unit"] + [f"{p} pods" if p else "node-independent" for p in sizes] + ["target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key in keys:
        label, unit = LABELS.get(key, (key, ""))
        cells, target_text, verdicts = [], "", []
        for pods in sizes:
            f = results.figures.get((pods, key))
            if f is None or f.median is None:
                cells.append("")
                continue
            cell = _fmt(f.median)
            if len(f.n9s) > 1:
                cell += f" ({_fmt(min(f.n9s))}–{_fmt(max(f.n9s))})"
            if f.baseline_median is not None:
                cell += f" · base {_fmt(f.baseline_median)}"
            if f.ratio is not None:
                cell += f" · ×{_fmt(f.ratio)}"
            cells.append(cell)
            text, ok = f.judge()
            if text and (ok is not None or not target_text):
                target_text = text if ok is not None else text
            if ok is not None:
                verdicts.append(f"{pods}: {'ok' if ok else 'MISS'}" if pods else ("ok" if ok else "MISS"))
        lines.append("| " + " | ".join([label.replace("|", "\\|"), unit, *cells, target_text, ", ".join(verdicts)])
                     + " |")
    return "\n".join(lines)
