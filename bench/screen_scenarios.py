"""Scenarios about what the user sees: time to the first full screen, keystroke latency, startup imports."""
from __future__ import annotations

import re
import statistics
import subprocess
import time

from bench.measure import PY, REPO, Measure, Options, bench_module, raw_screen_wall
from bench.pty_run import LEAVE_ALT_SCREEN, PtyN9s, n9s_args
from bench.scale import ScaleNode
from bench.screen_text import PodRows, plain


# ---- time to first full screen ----

FIRST_RE = re.compile(r"first full screen after ([\d.]+)s")


def first_screen(node: ScaleNode, opts: Options, ctx: dict) -> dict[str, Measure]:
    baseline = raw_screen_wall(node)
    run = PtyN9s(n9s_args(node.address, node.pods_dir, "--exit-after-first-paint")).start()
    rc = run.wait(120)
    if rc != 0:
        raise RuntimeError(f"n9s --exit-after-first-paint exited {rc}: {run.plain_text()[-500:]}")
    # The app exits right after the frame that showed the first picture: that frame is the last output before
    # the terminal is handed back (leave the alternate screen).
    leave = next(i for i, c in enumerate(run.chunks) if LEAVE_ALT_SCREEN in c.data)
    painted_at = run.chunks[leave - 1].at if leave > 0 else run.chunks[leave].at
    screen = b"".join(c.data for c in run.chunks[:leave + 1])
    text = plain(screen)
    m = FIRST_RE.search(plain(b"".join(c.data for c in run.chunks)))
    rows = PodRows()
    rows.feed(text)
    out = {
        "first.painted_s": Measure(painted_at - run.spawned_at, baseline,
                                   f"{len(rows.rows)} pod rows on screen: {rows.count('MEM')} with MEM, "
                                   f"{rows.count('CPU')} with CPU"),
        "first.self_reported_s": Measure(float(m.group(1)) if m else None),
        "first.exit_s": Measure(run.chunks[-1].at - run.spawned_at),
    }
    # A normal start: when does the CPU column fill in (it needs a second sample, one refresh later)?
    seen: list[float] = []
    watcher = PodRows()

    def on_text(now: float, text: str) -> None:
        if not seen and any(r["NAME"] == "burn-0" and r.get("CPU", "-") != "-" for r in watcher.feed(text)):
            seen.append(now)

    run = PtyN9s(n9s_args(node.address, node.pods_dir, "--refresh", str(opts.refresh_s)), keep_output=False,
                 on_text=on_text).start()
    try:
        deadline = time.monotonic() + 60
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        run.stop()
    out["first.with_cpu_s"] = Measure(seen[0] - run.spawned_at if seen else None)
    return out


# ---- keystrokes (headless, own process) ----

def keys(node: ScaleNode, opts: Options, ctx: dict) -> dict[str, Measure]:
    out = bench_module("bench.keys", "--address", node.address, "--pods-dir", node.pods_dir,
                        "--refresh", str(opts.refresh_s))
    note = f"{out['rows']} rows, filter leaves {out['filtered_rows']}"
    ms = lambda part, stat: Measure(out[part]["n9s"][stat] * 1000, out[part]["bare"][stat] * 1000)  # noqa: E731
    return {
        "keys.all_median_ms": Measure(out["all"]["n9s"]["median_s"] * 1000, out["all"]["bare"]["median_s"] * 1000,
                                      note),
        "keys.all_p95_ms": ms("all", "p95_s"),
        "keys.all_max_ms": ms("all", "max_s"),
        "keys.cursor_median_ms": ms("cursor", "median_s"),
        "keys.filter_median_ms": ms("filter", "median_s"),
        "keys.clear_median_ms": ms("clear", "median_s"),
        "keys.cursor_jumps": Measure(float(len(out["cursor_jumps"])), 0.0,
                                     f"{out['dropped']} cursor samples dropped; e.g. {out['cursor_jumps'][:1]}"
                                     if out["cursor_jumps"] else ""),
    }


# ---- startup imports ----

def _group(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "n9s" else parts[0]


def _importtime(code: str) -> tuple[float, dict[str, float], set[str]]:
    """Total import time of `code` (s), self time per package (ms; n9s split by subpackage), modules imported."""
    done = subprocess.run([PY, "-X", "importtime", "-c", code], cwd=REPO, capture_output=True, text=True,
                          check=True)
    names: set[str] = set()
    by_package: dict[str, float] = {}
    total_us = 0
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            names.add(m.group(4))
            total_us += int(m.group(1))
            group = _group(m.group(4))
            by_package[group] = by_package.get(group, 0.0) + int(m.group(1)) / 1000
    return total_us / 1e6, by_package, names


APP_PATH = ("import n9s.cli, n9s.actions.layer, n9s.ui.app, n9s.actions.audit, n9s.model.collector, n9s.sources.cgroups.reader, "
            "n9s.sources.containerd, n9s.sources.cri, n9s.ui.screens.browser")


def imports(opts: Options, ctx: dict) -> dict[str, Measure]:
    cli_s, app_s = [], []
    heavy: dict[str, list[float]] = {}
    kube: set[str] = set()
    for _ in range(opts.runs):
        t, _, names = _importtime("import n9s.cli")
        cli_s.append(t)
        kube |= {n for n in names if n.split(".")[0] == "kubernetes"}
        t, by_package, names = _importtime(APP_PATH)
        app_s.append(t)
        kube |= {n for n in names if n.split(".")[0] == "kubernetes"}
        for k, v in by_package.items():
            heavy.setdefault(k, []).append(v)
    medians = {k: statistics.median(v) for k, v in heavy.items()}
    top = dict(sorted(medians.items(), key=lambda kv: -kv[1])[:10])

    def wall(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([PY, "-c", code], cwd=REPO, check=True)
        return time.perf_counter() - t0

    bare = statistics.median(wall("pass") for _ in range(opts.runs))
    app_wall = statistics.median(wall(APP_PATH) for _ in range(opts.runs))
    ctx["heavy_imports_ms"] = top
    ctx["kubernetes_at_startup"] = sorted(kube)[:5]
    return {
        "import.cli_ms": Measure(statistics.median(cli_s) * 1000, None,
                                 "python -X importtime -c 'import n9s.cli' (sum of self times)"),
        "import.app_path_ms": Measure(statistics.median(app_s) * 1000, None,
                                      "same for cli + app + collector + sources + browser screen"),
        "import.app_path_wall_ms": Measure((app_wall - bare) * 1000, None,
                                           "wall of importing the TUI path, minus python -c pass"),
        "import.kubernetes_modules": Measure(float(len(kube)), 0.0,
                                             "kubernetes modules imported on the app path (must be 0)"),
        "import.python_start_ms": Measure(bare * 1000, None, "python -c pass, for scale"),
    }
