"""The scenarios. Each takes the running bench node and the options, runs once, and returns its figures:
``{figure: Measure(n9s, baseline)}``. Baselines are measured in the same run, on the same node, so a ratio
holds even when other work shares the machine."""
from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procstat import cpu_seconds, cpu_seconds_many, rss_bytes
from bench.pty_run import LEAVE_ALT_SCREEN, PtyN9s, n9s_args, refreshes_logged
from bench.scale import BUSY_POD, ScaleNode
from bench.screen_text import PodRows, plain

PY = sys.executable
REPO = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


@dataclass
class Measure:
    n9s: float | None
    baseline: float | None = None
    note: str = ""


@dataclass
class Options:
    runs: int = 3
    window_s: float = 60.0  # refresh cost / runtime load window
    warmup_s: float = 8.0
    refresh_s: float = 2.0
    minutes: float = 10.0  # memory
    follow_s: float = 30.0
    follow_rate: int = 50_000
    log_mib: int = 1024


def _bench_module(module: str, *args: str, timeout: float = 600) -> dict[str, Any]:
    out = subprocess.run([PY, "-m", module, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{module} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _raw_screen_wall(node: ScaleNode) -> float:
    t0 = time.perf_counter()
    subprocess.run([PY, "-m", "bench.raw_screen", node.address], cwd=REPO, check=True, stdout=subprocess.DEVNULL,
                   timeout=120)
    return time.perf_counter() - t0


# ---- floor: the raw work of one refresh, and Collector.refresh() ----

def floor(node: ScaleNode, opts: Options, ctx: dict) -> dict[str, Measure]:
    out = _bench_module("bench.floor", "--address", node.address, "--pods-dir", node.pods_dir, "--repeat", "10")
    ctx.setdefault("floor_cpu_s", []).append(out["floor"]["cpu_s_median"])
    ctx.setdefault("collector_wall_s", []).append(out["collector"]["wall_s_median"])
    ctx.setdefault("floor_rss", []).append(out["floor"]["rss_bytes"])
    ctx.setdefault("floor_wall_s", []).append(out["floor"]["wall_s_median"])
    return {
        "floor.cpu_ms": Measure(out["collector"]["cpu_s_median"] * 1000, out["floor"]["cpu_s_median"] * 1000,
                                f"{out['floor']['files_per_refresh']} files read by the floor"),
        "floor.wall_ms": Measure(out["collector"]["wall_s_median"] * 1000, out["floor"]["wall_s_median"] * 1000),
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
    # containerd and its shims with no n9s running
    c0, s0, t0 = cpu_seconds(ctd), cpu_seconds_many(shims), time.monotonic()
    time.sleep(opts.window_s)
    c1, s1, t1 = cpu_seconds(ctd), cpu_seconds_many(shims), time.monotonic()
    idle_ctd, idle_shims, idle_wall = c1 - c0, s1 - s0, t1 - t0

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
        "refresh.rss_mib": Measure(rss / MIB, statistics.median(ctx["floor_rss"]) / MIB if ctx.get("floor_rss") else None,
                                   "after the idle window, pods view"),
        "runtime.containerd_core_pct": Measure((c1 - c0) / wall * 100, idle_ctd / idle_wall * 100),
        "runtime.containerd_extra_pct": Measure((c1 - c0) / wall * 100 - idle_ctd / idle_wall * 100),
        "runtime.shims_core_pct": Measure((s1 - s0) / wall * 100, idle_shims / idle_wall * 100,
                                          f"{len(shims)} shims"),
    }


# ---- time to first full screen ----

FIRST_RE = re.compile(r"first full screen after ([\d.]+)s")


def first_screen(node: ScaleNode, opts: Options, ctx: dict) -> dict[str, Measure]:
    baseline = _raw_screen_wall(node)
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
    out = _bench_module("bench.keys", "--address", node.address, "--pods-dir", node.pods_dir,
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


# ---- dump ----

def dump(node: ScaleNode, opts: Options, ctx: dict) -> dict[str, Measure]:
    baseline = _raw_screen_wall(node)
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


# ---- memory: RSS over minutes with the logs view open on a busy container ----

NAV = r"|(?P<one>containers \[1\])|(?P<following>following ·)|containers \[(?P<rows>\d\d+)\]"


def _seen(run: PtyN9s, group: str, since: int = 0) -> bool:
    return any(m.group(group) for _, m in run.matches[since:] if group in m.re.groupindex)


def _wait_seen(run: PtyN9s, group: str, timeout: float, since: int = 0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _seen(run, group, since):
            return True
        time.sleep(0.05)
    return False


def _open_logs(run: PtyN9s, name: str, timeout: float = 30) -> bool:
    """On the containers view: filter down to the one container `name`, press l; True once the logs screen says
    it follows. The watch pattern of `run` must include NAV."""
    _wait_seen(run, "rows", 120)  # the first picture is in (typing before the table is there can be lost)
    mark = len(run.matches)
    run.type("/" + name, gap=0.08)
    _wait_seen(run, "one", timeout, mark)
    run.press("enter", gap=0.3)
    for _ in range(3):  # a key can land while a big refresh is being shown: try again
        mark = len(run.matches)
        run.type("l")
        if _wait_seen(run, "following", timeout / 3, mark):
            return True
    return False


def memory(node: ScaleNode, opts: Options, ctx: dict) -> dict[str, Measure]:
    baseline = statistics.median(ctx["floor_rss"]) / MIB if ctx.get("floor_rss") else None
    run = PtyN9s(n9s_args(node.address, node.pods_dir, "--view", "containers"), keep_output=False,
                 watch=re.compile(r"(?P<busy>busy line \d+)" + NAV)).start()
    samples: list[tuple[float, int]] = []
    try:
        time.sleep(max(opts.warmup_s, 5.0))
        logs_open = _open_logs(run, "busy-logger") and _wait_seen(run, "busy", 10)
        run.watch = None  # ten minutes of matches would only grow this process
        start = time.monotonic()
        end = start + opts.minutes * 60
        while time.monotonic() < end:
            if run.proc.poll() is not None:
                raise RuntimeError(f"n9s exited during the memory run ({run.proc.returncode})")
            samples.append((time.monotonic() - start, rss_bytes(run.pid)))
            time.sleep(10)
        samples.append((time.monotonic() - start, rss_bytes(run.pid)))
    finally:
        run.stop()
    at2 = next((r for t, r in samples if t >= 120), samples[0][1])
    last = samples[-1][1]
    peak = max(r for _, r in samples)
    ctx["memory_samples"] = [(round(t), r) for t, r in samples]
    where = "logs view on bench/busy-0 busy-logger" if logs_open else "logs view did NOT open: containers view"
    return {
        "memory.rss_end_mib": Measure(last / MIB, baseline, f"{where}, {opts.minutes:g} min"),
        "memory.rss_peak_mib": Measure(peak / MIB, baseline),
        "memory.growth_pct": Measure((last - at2) / at2 * 100 if opts.minutes > 2 else None, None,
                                     "from minute 2 to the end" if opts.minutes > 2 else "run shorter than 2 min"),
    }


# ---- log follow: a container writing fast, n9s following it ----

FLOOD_LINE = "flood %09d the quick brown fox jumps over the lazy dog"


def flood_lines(rate: int, seconds: float) -> int:
    return int(rate * seconds)


def flood_script(rate: int, seconds: float) -> str:
    """rate x seconds numbered lines, written by one awk as fast as it goes. On the 2-core bench machine busybox
    awk plus containerd's log copy top out near 40,000 lines/s, so no pacing is needed; the achieved rate is
    measured from the file and reported."""
    return ("while [ ! -e /tmp/go ]; do usleep 50000; done; "
            f"awk 'BEGIN{{for(j=1;j<={flood_lines(rate, seconds)};j++) printf \"{FLOOD_LINE}\\n\", j}}'; "
            "echo flood done; exec sleep 2147483647")


def _last_seq(path: str) -> int:
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - 8192))
            tail = f.read()
    except OSError:
        return 0
    found = re.findall(rb"flood (\d{9})", tail)
    return int(found[-1]) if found else 0


def log_follow(node: ScaleNode, opts: Options, ctx: dict) -> dict[str, Measure]:
    from n9s.demo import ContainerSpec, PodSpec
    from n9s.pb import cri_pb2

    ctx["flood_runs"] = ctx.get("flood_runs", 0) + 1
    spec = PodSpec(name=f"flood-{ctx['flood_runs']}", namespace="bench", labels={"app": "flood"},
                   containers=[ContainerSpec("flood", ["sh", "-c", flood_script(opts.follow_rate, opts.follow_s)])])
    pod = node.node.run_pod(spec)
    cid = pod.container("flood")
    log_path = str(pod.log_paths["flood"])
    total = flood_lines(opts.follow_rate, opts.follow_s)
    run = PtyN9s(n9s_args(node.address, node.pods_dir, "--view", "containers"), keep_output=False,
                 watch=re.compile(r"flood (?P<seq>\d{9})" + NAV)).start()
    tail_proc = None
    try:
        time.sleep(max(opts.warmup_s, 5.0))
        if not _open_logs(run, spec.name):
            raise RuntimeError(f"the logs screen of {spec.key} did not open")
        time.sleep(1.0)
        tail_proc = subprocess.Popen(["tail", "-F", "-n", "0", log_path], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        ctd = node.containerd_pid
        now = time.perf_counter  # the clock of the pty reader's time stamps
        n0, c0, k0, t0 = cpu_seconds(run.pid), cpu_seconds(ctd), cpu_seconds(tail_proc.pid), now()
        node.node.runtime.ExecSync(cri_pb2.ExecSyncRequest(container_id=cid, cmd=["touch", "/tmp/go"], timeout=10),
                                   timeout=15)
        # the writer is done when the file holds the last line (or stops growing for 3 s)
        last, last_change, deadline = 0, now(), now() + opts.follow_s * 4 + 30
        while now() < deadline:
            seq = _last_seq(log_path)
            if seq != last:
                last, last_change = seq, now()
            if seq >= total or now() - last_change > 3.0:
                break
            time.sleep(0.05)
        ended = now() if last >= total else last_change
        n1, c1, k1, t1 = cpu_seconds(run.pid), cpu_seconds(ctd), cpu_seconds(tail_proc.pid), now()

        def shown(until: float) -> int:
            return max((int(m.group("seq")) for t, m in list(run.matches) if m.group("seq") and t <= until),
                       default=0)

        painted_then = shown(ended)
        caught = None
        while now() < ended + 30:  # how long until n9s shows the last line
            if shown(now()) >= last:
                caught = now() - ended
                break
            time.sleep(0.05)
    finally:
        run.stop()
        if tail_proc is not None:
            tail_proc.terminate()
            tail_proc.wait(timeout=5)
        try:
            node.node.remove_pod(pod)
        except Exception:  # noqa: BLE001 - a leftover pod goes with the node
            pass
    wall = t1 - t0
    written_s = max(ended - t0, 1e-6)
    return {
        "follow.lines_behind": Measure(max(0, last - painted_then), 0,
                                       f"{last:,} lines in {written_s:.1f}s = {last / written_s:,.0f} lines/s "
                                       f"(target rate {opts.follow_rate:,}/s)"),
        "follow.seconds_behind": Measure(max(0, last - painted_then) / max(last / written_s, 1.0)),
        "follow.catch_up_s": Measure(caught),
        "follow.cpu_pct": Measure((n1 - n0) / wall * 100, (k1 - k0) / wall * 100, "baseline: tail -F to /dev/null"),
        "follow.containerd_pct": Measure((c1 - c0) / wall * 100, None, "containerd copying the container's output"),
    }


# ---- log open: 1 GiB CRI log (bench/log_open.py, by another helper) ----

def log_open_available() -> bool:
    return (REPO / "bench" / "log_open.py").exists()


def log_open(path: str, opts: Options, ctx: dict) -> dict[str, Measure]:
    t0 = time.perf_counter()
    subprocess.run(["tail", "-n", "200", path], stdout=subprocess.DEVNULL, check=True)
    tail_s = time.perf_counter() - t0
    out = _bench_module("bench.log_open_run", path)
    return {
        "logopen.painted_s": Measure(out["painted_s"], tail_s, f"{ctx.get('log_size', 0) / 2**30:.2f} GiB, "
                                     "headless, includes app start"),
        "logopen.indexed_s": Measure(out["indexed_s"], None, f"{out['lines']:,} lines indexed in the background"),
        "logopen.peak_rss_mib": Measure(out["peak_rss_mib"]),
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


APP_PATH = ("import n9s.cli, n9s.actions, n9s.app, n9s.audit, n9s.model.collector, n9s.sources.cgroups, "
            "n9s.sources.containerd, n9s.sources.cri, n9s.screens.browser")


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
