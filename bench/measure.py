"""What every scenario shares: a figure with its same-run baseline, the options, and how to run a helper process."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.scale import ScaleNode

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


def bench_module(module: str, *args: str, timeout: float = 600) -> dict[str, Any]:
    out = subprocess.run([PY, "-m", module, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{module} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def raw_screen_wall(node: ScaleNode) -> float:
    t0 = time.perf_counter()
    subprocess.run([PY, "-m", "bench.raw_screen", node.address], cwd=REPO, check=True, stdout=subprocess.DEVNULL,
                   timeout=120)
    return time.perf_counter() - t0
