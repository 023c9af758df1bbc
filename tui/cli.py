"""Command line: `n9s` (the TUI), `n9s dump`, `n9s info`. Heavy imports wait until a command needs them, so
`--help` and `--version` work anywhere, even with no runtime."""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from . import __version__
from .paths import config_path, log_file_path, state_dir

_START = __import__("time").perf_counter()


CONFIG_KEYS = {"readonly": bool, "refresh": float, "theme": str, "address": str, "pods_dir": str, "view": str,
               "namespace": str}


def load_config(path: Path | None = None) -> dict:
    """Defaults from the config file (TOML: readonly, refresh, theme, address, pods_dir, view, namespace);
    flags given on the command line win. A broken file is reported, not fatal."""
    import tomllib

    path = path or config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as err:
        print(f"n9s: ignoring config {path}: {err}", file=sys.stderr)
        return {}
    out: dict = {}
    keymap = data.get("keymap")
    if isinstance(keymap, dict):
        # Binding id -> keys, e.g. [keymap] "view-logs" = "L": applied with Textual's set_keymap.
        out["keymap"] = {str(k): str(v) for k, v in keymap.items() if isinstance(v, str)}
    for key, kind in CONFIG_KEYS.items():
        if key in data and isinstance(data[key], kind if kind is not float else (int, float)):
            out[key] = data[key]
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="n9s",
        description="K9s for the node: see and fix what runs on this Kubernetes node (containerd, CRI, cgroups).",
    )
    p.add_argument("--version", action="version", version=f"n9s {__version__}")
    p.add_argument("--address", "-a", help="runtime socket (unix path or unix:// URL); default: CONTAINER_RUNTIME_ENDPOINT, "
                   "CONTAINERD_ADDRESS, /etc/crictl.yaml, /run/containerd/containerd.sock")
    p.add_argument("--namespace", default=os.environ.get("CONTAINERD_NAMESPACE", "k8s.io"),
                   help="containerd namespace (default k8s.io, where CRI keeps its objects)")
    p.add_argument("--pods-dir", default=os.environ.get("N9S_PODS_DIR", "/var/log/pods"),
                   help="the kubelet's pod log directory (default /var/log/pods)")
    p.add_argument("--kubeconfig", default=None, help="kubeconfig file(s) (default: KUBECONFIG, ~/.kube/config, "
                   "in-cluster, /etc/kubernetes/kubelet.conf)")
    p.add_argument("--context", default=None, help="kubeconfig context")
    p.add_argument("--node", default=None, help="this node's name in the API (default: NODE_NAME, the host name); "
                   "without a local runtime socket, show that node remotely through the API")
    p.add_argument("--no-api", action="store_true", help="do not use the Kubernetes API at all")
    p.add_argument("--refresh", type=float, default=2.0, help="seconds between refreshes (default 2)")
    p.add_argument("--readonly", action="store_true", default=_env_flag("N9S_READONLY"),
                   help="refuse every action that changes the node")
    p.add_argument("--demo", action="store_true", help="start a throwaway demo node (needs root, containerd, runc) "
                   "and open n9s on it; it is torn down on exit")
    p.add_argument("--view", default="pods", help="view to open: pods, containers, tasks, snapshots, images, node")
    p.add_argument("--theme", default="n9s", help="n9s, n9s-light, or any Textual theme")
    p.add_argument("--debug", action="store_true", help="verbose log file")
    p.add_argument("--log-file", default=None, help="log file (default <state dir>/n9s.log)")
    p.add_argument("--exit-after-first-paint", action="store_true", help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="command")
    dump = sub.add_parser("dump", help="print the joined picture of the node once, then exit")
    fmt = dump.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="format", action="store_const", const="json", help="JSON (default)")
    fmt.add_argument("--table", dest="format", action="store_const", const="table", help="text tables")
    dump.add_argument("--interval", type=float, default=1.0, help="seconds from the start of the first sample to the "
                      "second (CPU rates are taken over the time between them)")
    dump.set_defaults(format="json")
    sub.add_parser("info", help="where n9s looks for things: endpoint, state dir, audit log, log file")
    p.set_defaults(**load_config())
    return p


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def setup_logging(args: argparse.Namespace) -> Path:
    from .paths import open_private

    path = log_file_path(args.log_file)
    try:
        handler: logging.Handler = logging.StreamHandler(os.fdopen(open_private(path), "a", encoding="utf-8"))
    except OSError:
        handler = logging.NullHandler()  # said on screen at start and by `n9s info` (file_checks)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("n9s")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if args.debug else logging.INFO)
    return path


def file_checks(args: argparse.Namespace) -> list:
    """Whether n9s can write each of its files, as it would open them."""
    from .paths import audit_log_path, check_writable

    return [check_writable("audit log", audit_log_path()), check_writable("log file", log_file_path(args.log_file))]


def file_notices(args: argparse.Namespace) -> tuple[str, ...]:
    """What the TUI says at start about files it will not or cannot write."""
    from .sanitize import sanitize_label

    notes = []
    for check in file_checks(args):
        if not check.ok:
            then = " Actions will not run until it can be written." if check.what == "audit log" else ""
            notes.append(sanitize_label(f"{check.what} {check.problem}.{then}", max_len=600))
    return tuple(notes)


def make_collector(address: str, namespace: str, pods_dir: str, api=None):
    from .model.collector import Collector
    from .sources.cgroups import CgroupReader, raise_open_file_limit
    from .sources.containerd import ContainerdClient
    from .sources.cri import CriClient

    cri = CriClient(address)
    ctd = ContainerdClient(address, namespace=namespace)
    # cgroup files stay open between refreshes and are re-read with pread (a seventh of open+read+close);
    # the soft fd limit is raised toward the hard one first, and the reader keeps within it (see CgroupReader).
    raise_open_file_limit()
    return Collector(cri, ctd, CgroupReader(keep_open=True), pods_dir=pods_dir, api=api)


def make_api_side(args: argparse.Namespace):
    if getattr(args, "no_api", False):
        return None
    from .model.api_side import ApiSide

    return ApiSide(kubeconfig=args.kubeconfig, context=args.context, node=args.node).start()


@contextlib.contextmanager
def demo_node():
    from .demo import DemoNode, default_pods

    node = DemoNode()

    def _terminate(signum, frame):  # noqa: ARG001 - signal handler signature
        raise SystemExit(128 + signum)

    old = {s: signal.signal(s, _terminate) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        print("n9s: starting a demo node (private containerd)…", file=sys.stderr)
        node.start()
        node.run_pods(default_pods())
        yield node
    finally:
        print("n9s: tearing the demo node down…", file=sys.stderr)
        node.stop()
        for s, h in old.items():
            signal.signal(s, h)


def resolve_address(args: argparse.Namespace) -> str:
    from .sources.endpoint import resolve_endpoint

    return resolve_endpoint(args.address).path


def cmd_info(args: argparse.Namespace) -> int:
    from .sanitize import sanitize_label
    from .sources.endpoint import resolve_endpoint

    ep = resolve_endpoint(args.address)
    print(f"n9s {__version__}")
    print(f"runtime endpoint: {ep.path} (from {ep.origin})")
    print(f"containerd namespace: {args.namespace}")
    print(f"pod log directory: {args.pods_dir}")
    print(f"state directory: {state_dir()}")
    for check in file_checks(args):
        print(sanitize_label(check.line(), max_len=600))
    print(f"config file: {config_path()}")
    print(f"read-only: {'yes' if args.readonly else 'no'}")
    return 0


def cmd_dump(args: argparse.Namespace, address: str) -> int:
    from .dump import dump
    from .sources.errors import SourceError

    collector = make_collector(address, args.namespace, args.pods_dir)
    try:
        text = dump(collector, interval=args.interval, fmt=args.format)
    except SourceError as err:
        print(f"n9s: {err}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


def cmd_tui(args: argparse.Namespace, address: str) -> int:
    from .model.collector import BackgroundRefresh
    from .viewspec import find_view

    api = make_api_side(args)
    collector = make_collector(address, args.namespace, args.pods_dir, api=api)
    # The first refresh runs while Textual and the screens are imported (views that need more wait for the app).
    start = find_view(args.view)
    plain = start is None or set(start.needs) <= {"container-stats", "pod-stats"}
    first = BackgroundRefresh(collector) if plain else None

    from .actions import Actions
    from .app import AppConfig, N9sApp
    from .audit import AuditLog
    from .sources.containerd import ContainerdClient

    events = ContainerdClient(address, namespace=args.namespace)
    actions = Actions(collector.cri, collector.containerd, readonly=args.readonly, audit=AuditLog(),
                      kube=api)
    config = AppConfig(refresh_s=max(0.2, args.refresh), readonly=args.readonly, start_view=args.view,
                       exit_after_first_paint=args.exit_after_first_paint, theme=args.theme,
                       keymap=getattr(args, "keymap", None) or {}, notices=file_notices(args))
    app = N9sApp(collector, config, events=events, actions=actions, first_refresh=first)
    if api is not None:
        api.on_change = app.refresh_from_thread

    def _exit_on_signal(signum, frame):  # noqa: ARG001 - signal handler signature
        # Runs on the main thread, where Textual's loop runs: ask the app to end; teardown follows app.run().
        app.exit(return_code=128 + signum)

    old = {s: signal.signal(s, _exit_on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        app.run()
    finally:
        actions.abandon_in_flight()  # a call still under way: its outcome is unknown, and the log says so
        for s, h in old.items():
            signal.signal(s, h)
    if args.exit_after_first_paint and app.first_paint_at is not None:
        print(f"first full screen after {app.first_paint_at - _START:.3f}s", file=sys.stderr)
    return app.return_code or 0


# A refresh at 500 pods allocates some 100,000 short-lived objects, almost none in reference cycles: collect
# the youngest generation every 20,000 allocations instead of 700 (GC fell from 35 to 8 ms per refresh).
GC_THRESHOLDS = (20_000, 20, 50)


def main(argv: list[str] | None = None) -> int:
    import gc

    gc.set_threshold(*GC_THRESHOLDS)
    args = build_parser().parse_args(argv)
    setup_logging(args)
    if args.command == "info":
        return cmd_info(args)
    if args.demo:
        from .demo import NodeUnavailable

        try:
            with demo_node() as node:
                args.pods_dir = str(node.pods_dir)
                return _run(args, str(node.address))
        except NodeUnavailable as err:
            print(f"n9s: cannot start the demo node: {err}", file=sys.stderr)
            return 2
    address = resolve_address(args)
    if args.node and not os.path.exists(address) and args.command != "dump":
        return cmd_remote(args)
    return _run(args, address)


def cmd_remote(args: argparse.Namespace) -> int:
    """`--node NAME` without that node's runtime socket: the node through the API server alone."""
    from .actions import Actions
    from .app import AppConfig, N9sApp
    from .audit import AuditLog
    from .model.remote import RemoteCollector

    if args.no_api:
        print("n9s: --node without a local runtime needs the Kubernetes API (drop --no-api)", file=sys.stderr)
        return 2
    api = make_api_side(args)
    collector = RemoteCollector(api)
    actions = Actions(None, None, readonly=args.readonly, audit=AuditLog(), kube=api)
    config = AppConfig(refresh_s=max(0.5, args.refresh), readonly=args.readonly, start_view=args.view,
                       theme=args.theme, notices=file_notices(args))
    app = N9sApp(collector, config, actions=actions)
    api.on_change = app.refresh_from_thread
    try:
        app.run()
    finally:
        actions.abandon_in_flight()
    return app.return_code or 0


def _run(args: argparse.Namespace, address: str) -> int:
    if args.command == "dump":
        return cmd_dump(args, address)
    return cmd_tui(args, address)


if __name__ == "__main__":
    sys.exit(main())
