"""Run a demo node until interrupted:  python -m n9s.demo [--keep] [--root DIR] [--no-pods] [--sweep]

Prints the containerd socket and the pods, then waits. Ctrl-C or SIGTERM tears everything down.
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from n9s.demo.node import DemoNode, DemoNodeError, NodeUnavailable
from n9s.demo.pods import default_pods
from n9s.demo.teardown import sweep_stale_nodes


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m n9s.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, help="directory for the node (default: a new one under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the directory (logs) after teardown")
    parser.add_argument("--no-pods", action="store_true", help="start containerd only, with no demo pods")
    parser.add_argument("--json", action="store_true", help="print one JSON line with the node's paths and pods")
    parser.add_argument("--sweep", action="store_true",
                        help="only tear down demo nodes left behind by killed runs, then exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    opts = _parse(argv)
    if opts.sweep:
        for root in sweep_stale_nodes():
            print(f"removed stale demo node {root}")
        return 0
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    node = DemoNode(root=opts.root, keep=opts.keep)
    try:
        t0 = time.monotonic()
        node.start()
        pods = [] if opts.no_pods else node.run_pods(default_pods())
        took = time.monotonic() - t0
        if opts.json:
            print(json.dumps({
                "address": str(node.address), "root": str(node.root), "pods_dir": str(node.pods_dir),
                "snapshotter": node.snapshotter, "image": node.image_ref, "timings": node.timings,
                "pods": [{"key": p.key, "uid": p.uid, "sandbox_id": p.sandbox_id, "containers": p.container_ids}
                         for p in pods],
            }), flush=True)
        else:
            t = node.timings
            print(f"demo node up in {took:.2f}s (containerd {t['containerd_start']:.2f}s, image "
                  f"{t['image_build'] + t['image_import']:.2f}s, pods {t.get('pods_up', 0):.2f}s; "
                  f"snapshotter {node.snapshotter})")
            print(f"  socket:  {node.address}")
            if shutil.which("crictl"):
                print(f"  crictl:  crictl -r unix://{node.address} ps -a")
            print(f"  ctr:     ctr -a {node.address} -n k8s.io tasks ls")
            print(f"  logs:    {node.pods_dir}")
            for pod in pods:
                print(f"  pod {pod.key:<28} uid {pod.uid}  containers {', '.join(pod.container_ids)}")
            print("Ctrl-C tears it down.", flush=True)
        while not stop.wait(0.5):
            pass
    except (NodeUnavailable, DemoNodeError) as e:
        print(f"n9s.demo: {e}", file=sys.stderr)
        return 2
    finally:
        problems = node.stop()
        for problem in problems:
            print(f"n9s.demo: teardown: {problem}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
