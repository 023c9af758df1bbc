"""Scenarios with the logs screen: memory over minutes while following a busy container, following a flood, and
opening a 1 GiB log."""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import time

from bench.measure import MIB, REPO, Measure, Options, bench_module
from bench.procstat import cpu_seconds, rss_bytes
from bench.pty_run import PtyN9s, n9s_args
from bench.scale import BUSY_POD, ScaleNode


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
    where = f"logs view on bench/{BUSY_POD} busy-logger" if logs_open else "logs view did NOT open: containers view"
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
    out = bench_module("bench.log_open_run", path)
    return {
        "logopen.painted_s": Measure(out["painted_s"], tail_s, f"{ctx.get('log_size', 0) / 2**30:.2f} GiB, "
                                     "headless, includes app start"),
        "logopen.indexed_s": Measure(out["indexed_s"], None, f"{out['lines']:,} lines indexed in the background"),
        "logopen.peak_rss_mib": Measure(out["peak_rss_mib"]),
    }
