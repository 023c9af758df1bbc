"""Soak: n9s for a long time on a busy demo node, watching its memory, CPU, descriptors and threads.

Run by hand (never from pytest), as root:

    .venv/bin/python bench/soak.py --minutes 30 [--report soak.json]

What happens:
- a private demo node starts (the default demo pods) plus a `flood` pod whose container writes about 5,000 log
  lines a second;
- churn: every second a small pod is created or removed (at most a few alive at once), as a busy node does;
- the real `n9s` CLI runs in a pseudo-terminal (160x45) and is driven by keys, in a one-minute cycle: the pods
  view sorted by CPU (`C`) for 20 s, then `/flood` and `l`: the flood container's log followed for 40 s, then
  `esc esc` back; opening and closing the log view every minute also exercises its thread and files;
- every 10 s the n9s process is sampled: RSS, CPU (share of one core over the interval), open file descriptors,
  threads, and how many bytes it wrote to the terminal (a frozen UI writes nothing while the log scrolls).

Pass: n9s still runs at the end with no traceback on its terminal and no ERROR record in its log file; RSS at most
5 % above the level after the warm-up (the first 2 minutes; a third of the run when it is shorter), comparing the
peak of a window after the warm-up with the peak of the last window; descriptors and threads flat (the peak of
the last window no more than 2 above the peak of the first window after the warm-up). The report (JSON) holds
every sample. Exit code 0 on pass, 1 on fail.
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from n9s.demo import ContainerSpec, DemoNode, PodSpec, default_pods

SAMPLE_S = 10.0
CYCLE_S = 60.0
LOGS_PHASE_S = 40.0
COLS, ROWS = 160, 45
FLOOD_SCRIPT = ("while :; do yes 'soak line: the quick brown fox jumps over the lazy dog 0123456789' | head -n 500; "
                "sleep 0.1; done")
CHURN_KEEP = 3  # churn pods alive at most


@dataclass
class Sample:
    t: float  # seconds since n9s started
    rss_mib: float
    cpu_percent: float  # of one core, over the last interval
    fds: int
    threads: int
    tty_bytes: int  # bytes n9s wrote to the terminal over the last interval
    phase: str
    flood_log_mib: float


@dataclass
class Report:
    started: str
    minutes_asked: float
    seconds_run: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    churn_created: int = 0
    churn_removed: int = 0
    churn_errors: list[str] = field(default_factory=list)
    flood_lines_per_s: float = 0.0
    alive_at_end: bool = False
    exit_code: int | None = None
    tracebacks: list[str] = field(default_factory=list)
    error_records: list[str] = field(default_factory=list)
    verdict: dict = field(default_factory=dict)


# ---------------------------------------------------------------- n9s in a pseudo-terminal

class Terminal:
    """n9s on a pty: keys in, output drained (and counted) by a thread."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        # stderr too: Textual draws on stderr, and a traceback would land there.
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.master = master
        self.bytes_out = 0
        self.tracebacks: list[str] = []
        self._tail = b""
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._drain, daemon=True, name="pty-drain")
        self._reader.start()

    def _drain(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.bytes_out += len(data)
            seen = self._tail + data
            at = seen.find(b"Traceback")
            if at >= 0 and len(self.tracebacks) < 5:
                self.tracebacks.append(seen[at:at + 4000].decode(errors="replace"))
            self._tail = data[-16:]

    def keys(self, *keys: bytes, gap: float = 0.15) -> None:
        for key in keys:
            os.write(self.master, key)
            time.sleep(gap)

    def type(self, text: str) -> None:
        self.keys(*(ch.encode() for ch in text), gap=0.05)

    def close(self, timeout: float = 10.0) -> int | None:
        if self.proc.poll() is None:
            self.keys(b"\x1b", b"\x1b", gap=0.6)  # back to the table from any screen, then quit
            self.keys(b"q")
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
        self._stop.set()
        self._reader.join(2)
        os.close(self.master)
        return self.proc.returncode


# ---------------------------------------------------------------- churn

class Churn:
    """Every second, create a small pod or remove the oldest one (at most CHURN_KEEP alive)."""

    def __init__(self, node: DemoNode) -> None:
        self.node = node
        self.alive: list = []
        self.created = self.removed = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="churn")

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        n = 0
        next_tick = time.monotonic()
        while not self._stop.is_set():
            try:
                if len(self.alive) >= CHURN_KEEP or (self.alive and n % 2):
                    self.node.remove_pod(self.alive.pop(0))
                    self.removed += 1
                else:
                    spec = PodSpec(name=f"churn-{n}", namespace="soak", labels={"app": "churn"},
                                   containers=[ContainerSpec("sleeper", ["sleep", "3600"])])
                    self.alive.append(self.node.run_pod(spec))
                    self.created += 1
            except Exception as err:  # noqa: BLE001 - recorded in the report, the soak goes on
                if len(self.errors) < 20:
                    self.errors.append(f"{type(err).__name__}: {err}")
            n += 1
            next_tick += 1.0
            self._stop.wait(max(0.0, next_tick - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        for pod in self.alive:
            try:
                self.node.remove_pod(pod)
            except Exception:  # noqa: BLE001 - the node's teardown removes what is left
                pass


# ---------------------------------------------------------------- the verdict

def verdict(samples: list[Sample], seconds: float) -> dict:
    warmup = min(120.0, seconds / 3)
    after = [s for s in samples if s.t >= warmup]
    if len(after) < 4:
        return {"pass": False, "why": "too few samples after the warm-up"}
    window = max(min(120.0, (after[-1].t - warmup) / 2), SAMPLE_S * 2)
    first = [s for s in after if s.t < warmup + window]
    last = [s for s in after if s.t >= after[-1].t - window]
    rss_base = max(s.rss_mib for s in first)
    rss_end = max(s.rss_mib for s in last)
    growth = rss_end / rss_base - 1
    fds_rise = max(s.fds for s in last) - max(s.fds for s in first)
    threads_rise = max(s.threads for s in last) - max(s.threads for s in first)
    logs_silent = [s.t for s in after if s.phase == "logs" and s.tty_bytes == 0]
    checks = {
        "rss_growth_ok": growth <= 0.05,
        "fds_flat": fds_rise <= 2,
        "threads_flat": threads_rise <= 2,
        "ui_wrote_while_following": not logs_silent,
    }
    return {
        "pass": all(checks.values()), **checks,
        "warmup_s": warmup, "window_s": window,
        "rss_after_warmup_mib": round(rss_base, 1), "rss_end_mib": round(rss_end, 1),
        "rss_growth_percent": round(100 * growth, 2),
        "rss_min_mib": round(min(s.rss_mib for s in samples), 1),
        "rss_max_mib": round(max(s.rss_mib for s in samples), 1),
        "fds_after_warmup": max(s.fds for s in first), "fds_end": max(s.fds for s in last),
        "threads_after_warmup": max(s.threads for s in first), "threads_end": max(s.threads for s in last),
        "cpu_median_percent": round(statistics.median(s.cpu_percent for s in after), 1),
        "cpu_max_percent": round(max(s.cpu_percent for s in after), 1),
        "silent_log_samples_at": logs_silent,
    }


# ---------------------------------------------------------------- the run

def soak(minutes: float, report_path: Path | None) -> Report:
    report = Report(started=time.strftime("%Y-%m-%d %H:%M:%S %Z"), minutes_asked=minutes)
    work = Path(tempfile.mkdtemp(prefix="n9s-soak-"))
    node = DemoNode()
    term: Terminal | None = None
    churn: Churn | None = None
    try:
        print(f"soak: starting the demo node ({work})", flush=True)
        node.start()
        node.run_pods(default_pods())
        flood = node.run_pod(PodSpec(name="flood", namespace="soak", labels={"app": "flood"},
                                     containers=[ContainerSpec("writer", ["sh", "-c", FLOOD_SCRIPT])]))
        flood_log = flood.log_paths["writer"]
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(COLS), "LINES": str(ROWS),
               "XDG_STATE_HOME": str(work / "state"), "N9S_CONFIG": str(work / "none.toml")}
        log_file = work / "n9s.log"
        argv = [sys.executable, "-m", "n9s", "--address", str(node.address), "--pods-dir", str(node.pods_dir),
                "--no-api", "--refresh", "2", "--log-file", str(log_file)]
        churn = Churn(node)
        churn.start()
        term = Terminal(argv, env)
        proc = psutil.Process(term.proc.pid)
        started = time.monotonic()
        deadline = started + minutes * 60
        time.sleep(3)
        term.keys(b"C")  # pods view sorted by CPU, biggest first
        phase = "pods"
        next_sample = started + SAMPLE_S
        last_cpu = proc.cpu_times()
        last_cpu_at = time.monotonic()
        last_bytes = term.bytes_out
        flood_start_size, flood_start_at = flood_log.stat().st_size, time.monotonic()
        while time.monotonic() < deadline and term.proc.poll() is None:
            now = time.monotonic()
            cycle_at = (now - started) % CYCLE_S
            if phase == "pods" and cycle_at >= CYCLE_S - LOGS_PHASE_S:
                term.keys(b"/")
                term.type("flood")
                term.keys(b"\r", b"l")
                phase = "logs"
            elif phase == "logs" and cycle_at < CYCLE_S - LOGS_PHASE_S:
                term.keys(b"\x1b", gap=0.6)  # close the logs screen
                term.keys(b"\x1b", gap=0.6)  # clear the filter
                phase = "pods"
            if now >= next_sample:
                cpu = proc.cpu_times()
                elapsed = now - last_cpu_at
                used = (cpu.user + cpu.system) - (last_cpu.user + last_cpu.system)
                with proc.oneshot():
                    sample = Sample(
                        t=round(now - started, 1), rss_mib=proc.memory_info().rss / 2**20,
                        cpu_percent=round(100 * used / elapsed, 1), fds=proc.num_fds(), threads=proc.num_threads(),
                        tty_bytes=term.bytes_out - last_bytes, phase=phase,
                        flood_log_mib=round(flood_log.stat().st_size / 2**20, 1),
                    )
                report.samples.append(sample)
                print(f"  {sample.t:7.0f}s rss {sample.rss_mib:6.1f} MiB cpu {sample.cpu_percent:5.1f}% "
                      f"fds {sample.fds:3d} threads {sample.threads:2d} tty {sample.tty_bytes:8d} B {phase:4s} "
                      f"churn +{churn.created}/-{churn.removed}", flush=True)
                last_cpu, last_cpu_at, last_bytes = cpu, now, term.bytes_out
                next_sample += SAMPLE_S
            time.sleep(0.2)
        report.seconds_run = round(time.monotonic() - started, 1)
        report.alive_at_end = term.proc.poll() is None
        line_len = len("soak line: the quick brown fox jumps over the lazy dog 0123456789") + 40  # + CRI prefix
        report.flood_lines_per_s = round((flood_log.stat().st_size - flood_start_size) / line_len
                                         / (time.monotonic() - flood_start_at))
    finally:
        if churn is not None:
            churn.stop()
            report.churn_created, report.churn_removed, report.churn_errors = churn.created, churn.removed, churn.errors
        if term is not None:
            report.exit_code = term.close()
            report.tracebacks = term.tracebacks
        log_text = (work / "n9s.log").read_text(errors="replace") if (work / "n9s.log").exists() else ""
        report.error_records = [line[:300] for line in log_text.splitlines() if " ERROR " in line][:20]
        problems = node.stop()
        if problems:
            print("soak: demo node teardown: " + "; ".join(problems), flush=True)
    report.verdict = verdict(report.samples, report.seconds_run)
    report.verdict["no_crash"] = report.alive_at_end and not report.tracebacks and not report.error_records
    report.verdict["pass"] = report.verdict.get("pass", False) and report.verdict["no_crash"]
    if report_path is not None:
        report_path.write_text(json.dumps(asdict(report), indent=1))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long n9s runs (default 30)")
    parser.add_argument("--report", type=Path, default=None, help="write the full report (JSON) here")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("soak: needs root (it starts a private containerd)", file=sys.stderr)
        return 2
    report = soak(args.minutes, args.report)
    v = report.verdict
    print(json.dumps({k: v[k] for k in v}, indent=1))
    print(f"soak: {'PASS' if v['pass'] else 'FAIL'} after {report.seconds_run:.0f}s; churn +{report.churn_created}"
          f"/-{report.churn_removed}; flood {report.flood_lines_per_s} lines/s; exit code {report.exit_code}")
    return 0 if v["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
