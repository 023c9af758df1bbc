"""Keep a bench node up for poking at by hand: ``python -m bench.hold --pods 50`` prints its socket and pod log
directory as one JSON line, then waits for Ctrl-C or SIGTERM and tears it down."""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from bench.scale import start_scale_node


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.hold")
    p.add_argument("--pods", type=int, default=50)
    args = p.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    node = start_scale_node(args.pods)
    try:
        print(json.dumps({"address": node.address, "pods_dir": node.pods_dir, "containerd_pid": node.containerd_pid,
                          **node.timings}), flush=True)
        stop.wait()
    finally:
        node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
