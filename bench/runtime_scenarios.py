"""Scenarios about the refresh: its raw floor, n9s idle on the pods view (CPU, and the runtime's extra CPU in the
same window), and `n9s dump`."""
from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.measure import MIB, PY, Measure, Options, bench_module, raw_screen_wall
from bench.procstat import cpu_seconds, cpu_seconds_many, rss_bytes
from bench.pty_run import PtyN9s, n9s_args, refreshes_logged
from bench.scale import ScaleNode


# ---- floor: the raw work of one refresh, and Collector.refresh() ----

def floor(node: ScaleNode, opts: Options, ctx: dict) -> dict[str, Measure]:
    out = bench_module("bench.floor", "--address", node.address, "--pods-dir", node.pods_dir, "--repeat", "10")
    ctx.setdefault("floor_cpu_s", []).append(out["floor"]["cpu_s_median"])
    ctx.setdefault("collector_wall_s", []).append(out["collector"]["wall_s_median"])
    ctx.setdefault("floor_rss", []).append(out["floor"]["rss_bytes"])
    ctx.setdefault("floor_wall_s", []).append(out["floor"]["wall_s_median"])
    return {
        "floor.cpu_ms": Measure(out["collector"]["cpu_s_median"] * 1000, out["floor"]["cpu_s_median"] * 1000,
                                f"{out['floor']['files_per_refresh']} files read by the floor"),
        "floor.wall_ms": Measure(out["collector"]["wall_s_median"] * 1000, out["floor"]["wall_s_median"] * 1000),
        "floor.pods_view_cpu_ms": Measure(out["collector_pods_view"]["cpu_s_median"] * 1000,
                                          out["floor"]["cpu_s_median"] * 1000),
        "floor.pods_view_listed_cpu_ms": Measure(out["collector_pods_view_listed"]["cpu_s_median"] * 1000,
                                                 out["floor"]["cpu_s_median"] * 1000),
    }


def _floor_cpu(node: ScaleNode, opts: Options, ctx: dict) -> float:
    if not ctx.get("floor_cpu_s"):
        floor(node, opts, ctx)
    return statistics.median(ctx["floor_cpu_s"])


# ---- refresh cost and runtime load (same window) ----

def _shim_pids(node: ScaleNode) -> list[int]:
    from n9s.demo.cleanup import shim_processes

    return [p.pid for p in shim_processes(node.node.address)]


def refresh_and_runtime(node: ScaleNode, opts: Options, ctx: dict) -> dict[str, Measure]:
    floor_cpu = _floor_cpu(node, opts, ctx)
    ctd = node.containerd_pid
    shims = _shim_pids(node)
    # containerd and its shims with no n9s running; meanwhile, what a bare Textual app costs idle in a terminal
    bare = PtyN9s([], keep_output=False, program=[PY, "-m", "bench.bare_textual"]).start()
    try:
        time.sleep(min(opts.warmup_s, opts.window_s))
        c0, s0, t0, a0 = cpu_seconds(ctd), cpu_seconds_many(shims), time.monotonic(), cpu_seconds(bare.pid)
        time.sleep(opts.window_s)
        c1, s1, t1, a1 = cpu_seconds(ctd), cpu_seconds_many(shims), time.monotonic(), cpu_seconds(bare.pid)
    finally:
        bare.stop()
    idle_ctd, idle_shims, idle_wall = c1 - c0, s1 - s0, t1 - t0
    bare_cpu_per_period = (a1 - a0) / idle_wall * (opts.refresh_s + (statistics.median(ctx.get("collector_wall_s")
                                                                                          or [0.0])))

    log_file = os.path.join(tempfile.mkdtemp(prefix="n9s-bench-"), "n9s.log")
    run = PtyN9s(n9s_args(node.address, node.pods_dir, "--refresh", str(opts.refresh_s), "--debug",
                          log_file=log_file), keep_output=False).start()
    try:
        time.sleep(opts.warmup_s)  # startup, first ContainerStatus per container, first paints: not idle cost
        if run.proc.poll() is not None:
            raise RuntimeError(f"n9s exited early ({run.proc.returncode})")
        n0, c0, s0, t0, b0, w0 = cpu_seconds(run.pid), cpu_seconds(ctd), cpu_seconds_many(shims), time.monotonic(), \
            run.output_bytes, time.time()
        time.sleep(opts.window_s)
        n1, c1, s1, t1, b1, w1 = cpu_seconds(run.pid), cpu_seconds(ctd), cpu_seconds_many(shims), time.monotonic(), \
            run.output_bytes, time.time()
        rss = rss_bytes(run.pid)
    finally:
        run.stop()
    wall = t1 - t0
    took = refreshes_logged(log_file, w0, w1)
    shutil.rmtree(os.path.dirname(log_file), ignore_errors=True)
    if took:
        refreshes = float(len(took))
        counted = f"{len(took)} refreshes logged in {wall:.0f}s, each {statistics.median(took) * 1000:.0f} ms wall"
    else:  # the next refresh is armed when one completes: one period = the interval plus a refresh's wall time
        refreshes = wall / (opts.refresh_s + statistics.median(ctx.get("collector_wall_s") or [0.0]))
        counted = f"~{refreshes:.1f} refreshes in {wall:.0f}s (estimated: none logged)"
    period = wall / refreshes
    n9s_cpu = n1 - n0
    ctx.setdefault("idle_rss", []).append(rss)
    return {
        "refresh.cpu_ms_per_refresh": Measure(n9s_cpu / refreshes * 1000, floor_cpu * 1000,
                                              counted),
        "refresh.core_pct": Measure(n9s_cpu / wall * 100, floor_cpu / period * 100),
        "refresh.wall_ms": Measure(statistics.median(took) * 1000 if took else None,
                                   statistics.median(ctx["floor_wall_s"]) * 1000 if ctx.get("floor_wall_s") else None,
                                   "one refresh's wall time in the app (n9s --debug log)"),
        "refresh.terminal_kib_s": Measure((b1 - b0) / wall / 1024),
        "refresh.bare_textual_ms": Measure(bare_cpu_per_period * 1000, floor_cpu * 1000,
                                           "a bare Textual app idle, CPU per refresh period (same run)"),
        "refresh.rss_mib": Measure(rss / MIB, statistics.median(ctx["floor_rss"]) / MIB if ctx.get("floor_rss") else None,
                                   "after the idle window, pods view"),
        "runtime.containerd_core_pct": Measure((c1 - c0) / wall * 100, idle_ctd / idle_wall * 100),
        "runtime.containerd_extra_pct": Measure((c1 - c0) / wall * 100 - idle_ctd / idle_wall * 100),
        "runtime.shims_core_pct": Measure((s1 - s0) / wall * 100, idle_shims / idle_wall * 100,
                                          f"{len(shims)} shims"),
    }


# ---- dump ----

def dump(node: ScaleNode, opts: Options, ctx: dict) -> dict[str, Measure]:
    baseline = raw_screen_wall(node)
    walls = {}
    for interval in ("0", "1.0"):
        t0 = time.perf_counter()
        done = subprocess.run([str(Path(PY).with_name("n9s")), *n9s_args(node.address, node.pods_dir), "dump",
                               "--interval", interval], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        walls[interval] = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(f"n9s dump failed: {done.stderr.decode()[-500:]}")
        pods = len(json.loads(done.stdout).get("pods", []))
    return {
        "dump.interval0_s": Measure(walls["0"], baseline, f"{pods} pods in the JSON"),
        "dump.default_s": Measure(walls["1.0"], baseline, "default --interval 1 (sleeps 1 s for CPU rates)"),
    }
