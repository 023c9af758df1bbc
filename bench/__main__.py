"""Benchmarks at node scale: ``python -m bench [--pods 50,110,500] [--runs 3] [--only floor,refresh,...]
[--json out.json] [--markdown table.md]``.

For each size: bring up a demo node with that many pods (two containers each), run the scenarios, tear it down.
Every figure is a median over runs, with min and max, next to a baseline measured in the same run.
Scenarios: floor, first, refresh (also gives runtime load), keys, dump; at the largest size only: memory, follow;
once: logopen, imports.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import scenarios
from bench.procstat import load_average
from bench.report import Results, markdown_table, text_table
from bench.scale import start_scale_node

PER_NODE = ["floor", "first", "refresh", "keys", "dump"]
LARGEST_ONLY = ["memory", "follow"]
ONCE = ["imports", "logopen"]
ALL = PER_NODE + LARGEST_ONLY + ONCE
ALIASES = {"runtime": "refresh", "refresh_cost": "refresh", "first_screen": "first", "keystroke": "keys",
           "log_open": "logopen", "log_follow": "follow", "import": "imports"}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pods", default="50,110,500", help="node sizes, comma separated (default 50,110,500)")
    p.add_argument("--runs", type=int, default=3, help="runs per figure (default 3; memory runs once)")
    p.add_argument("--only", default="", help=f"scenarios to run, comma separated, of: {', '.join(ALL)}")
    p.add_argument("--json", dest="json_path", help="write every figure and run to this JSON file")
    p.add_argument("--markdown", help="write the table as Markdown to this file")
    p.add_argument("--window", type=float, default=60.0, help="seconds of idle measured for refresh cost and "
                   "runtime load (default 60)")
    p.add_argument("--warmup", type=float, default=8.0, help="seconds after n9s starts before measuring idle")
    p.add_argument("--minutes", type=float, default=10.0, help="length of the memory run (default 10)")
    p.add_argument("--follow-seconds", type=float, default=30.0)
    p.add_argument("--follow-rate", type=int, default=50_000, help="lines/s the flood container aims at")
    p.add_argument("--log-mib", type=int, default=1024, help="size of the log for logopen (default 1024)")
    return p.parse_args(argv)


def machine() -> dict:
    def run(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    repo = Path(__file__).resolve().parent.parent
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": os.cpu_count(),
        "ram_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "containerd": run("containerd", "--version"),
        "python": platform.python_version(),
        "commit": run("git", "-C", str(repo), "rev-parse", "--short", "HEAD"),
        "dirty": bool(run("git", "-C", str(repo), "status", "--porcelain", "--", "tui", "widgets")),
    }


def _run(results: Results, pods: int, name: str, fn, *args) -> None:
    t0 = time.monotonic()
    load = load_average()[0]
    try:
        results.add(pods, fn(*args))
        print(f"  {name}: done in {time.monotonic() - t0:.0f}s (load {load:.1f})", file=sys.stderr, flush=True)
    except Exception as err:  # noqa: BLE001 - one broken scenario must not lose the others
        results.errors.append(f"{name} at {pods} pods: {err}")
        print(f"  {name}: FAILED: {err}", file=sys.stderr, flush=True)
        traceback.print_exc(file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    sizes = sorted({int(s) for s in args.pods.split(",") if s.strip()})
    only = [ALIASES.get(s.strip(), s.strip()) for s in args.only.split(",") if s.strip()] or ALL
    unknown = [s for s in only if s not in ALL]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(ALL)}", file=sys.stderr)
        return 2
    opts = scenarios.Options(runs=args.runs, window_s=args.window, warmup_s=args.warmup, minutes=args.minutes,
                             follow_s=args.follow_seconds, follow_rate=args.follow_rate, log_mib=args.log_mib)
    results = Results()
    info = machine()
    info["load_start"] = load_average()
    scales: dict[int, dict] = {}
    ctxs: dict[int, dict] = {}

    if "imports" in only:
        print("imports", file=sys.stderr, flush=True)
        _run(results, 0, "imports", scenarios.imports, opts, ctxs.setdefault(0, {}))

    for pods in sizes:
        wanted = [s for s in PER_NODE if s in only] + [s for s in LARGEST_ONLY if s in only and pods == sizes[-1]]
        if not wanted:
            continue
        print(f"{pods} pods: bringing the node up…", file=sys.stderr, flush=True)
        node = start_scale_node(pods)
        ctx = ctxs.setdefault(pods, {})
        scales[pods] = {"timings": node.timings, "load_before": load_average()}
        print(f"{pods} pods up in {node.timings['pods_up_s']:.0f}s ({node.timings['pods_per_s']:.1f}/s)",
              file=sys.stderr, flush=True)
        try:
            if "floor" in wanted:
                for _ in range(opts.runs):
                    _run(results, pods, "floor", scenarios.floor, node, opts, ctx)
            for i in range(opts.runs):
                for name in ("first", "refresh", "keys", "dump"):
                    if name in wanted:
                        fn = {"first": scenarios.first_screen, "refresh": scenarios.refresh_and_runtime,
                              "keys": scenarios.keys, "dump": scenarios.dump}[name]
                        _run(results, pods, f"{name} #{i + 1}", fn, node, opts, ctx)
            if "follow" in wanted:
                for i in range(opts.runs):
                    _run(results, pods, f"follow #{i + 1}", scenarios.log_follow, node, opts, ctx)
            if "memory" in wanted:
                _run(results, pods, "memory", scenarios.memory, node, opts, ctx)
            scales[pods]["load_after"] = load_average()
        finally:
            problems = node.stop()
            scales[pods]["timings"] = node.timings
            if problems:
                results.errors.append(f"teardown at {pods} pods: {problems}")
            print(f"{pods} pods: torn down in {node.timings.get('teardown_s', 0):.0f}s", file=sys.stderr, flush=True)

    if "logopen" in only:
        if not scenarios.log_open_available():
            results.todo.append("log open: bench/log_open.py is not there yet")
        else:
            directory = tempfile.mkdtemp(prefix="n9s-bench-log-")
            path = os.path.join(directory, "0.log")
            try:
                from bench.log_open import generate

                print(f"logopen: writing a {args.log_mib} MiB log…", file=sys.stderr, flush=True)
                generate(path, args.log_mib)
                ctx = ctxs.setdefault(0, {})
                ctx["log_size"] = os.path.getsize(path)
                for i in range(opts.runs):
                    _run(results, 0, f"logopen #{i + 1}", scenarios.log_open, path, opts, ctx)
            except Exception as err:  # noqa: BLE001
                results.errors.append(f"logopen: {err}")
            finally:
                Path(path).unlink(missing_ok=True)
                os.rmdir(directory)

    info["load_end"] = load_average()
    print()
    print(f"n9s {info['commit']}{' (+local changes)' if info['dirty'] else ''}  {info['date']}  "
          f"{info['nproc']} cores, {info['ram_gib']} GiB, kernel {info['kernel']}, {info['containerd']}")
    print(f"load average at start {info['load_start']}, at end {info['load_end']}")
    for pods, s in scales.items():
        t = s["timings"]
        print(f"{pods} pods: up in {t['pods_up_s']:.1f}s ({t['pods_per_s']:.1f} pods/s, {t['workers']:.0f} at a time), "
              f"teardown {t.get('teardown_s', 0):.1f}s, load {s['load_before'][0]:.1f}")
    extras = ctxs.get(0, {})
    if "heavy_imports_ms" in extras:
        heavy = ", ".join(f"{k} {v:.0f}" for k, v in extras["heavy_imports_ms"].items())
        print(f"heaviest imports on the TUI path (ms of import time, self, by package): {heavy}")
        print(f"kubernetes imported at startup: {extras['kubernetes_at_startup'] or 'no'}")
    for pods, ctx in ctxs.items():
        if "memory_samples" in ctx:
            print(f"memory samples at {pods} pods (s, MiB): " +
                  ", ".join(f"{t}:{r / 2**20:.1f}" for t, r in ctx["memory_samples"]))
    print()
    print(text_table(results))
    if args.json_path:
        with open(args.json_path, "w") as f:
            json.dump({"machine": info, "scales": scales, "figures": [f.as_json() for f in results.ordered()],
                       "errors": results.errors, "todo": results.todo,
                       "context": {str(k): {kk: vv for kk, vv in v.items()} for k, v in ctxs.items()}},
                      f, indent=1, default=str)
    if args.markdown:
        Path(args.markdown).write_text(markdown_table(results) + "\n")
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
