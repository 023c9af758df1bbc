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

from typing import TYPE_CHECKING

from n9s import __version__
from n9s.core.paths import config_path, log_file_path, state_dir
from n9s.wiring import file_checks, make_collector

if TYPE_CHECKING:
    from n9s.core.config import Config

_START = __import__("time").perf_counter()


class _Parser(argparse.ArgumentParser):
    """argparse quotes what it did not understand (unknown arguments raw): said sanitised, like every message."""

    def error(self, message: str):  # type: ignore[override]
        from n9s.core.sanitize import sanitize_label

        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {sanitize_label(message, 400)}\n")


def build_parser(defaults: dict | None = None) -> argparse.ArgumentParser:
    """``defaults``: from the config file and the environment (see ``settings``); flags given on the command line
    win, except that read-only mode, once asked for anywhere, stays on."""
    p = _Parser(
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
    p.add_argument("--readonly", action="store_true", default=False,
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
    sub.add_parser("info", help="where n9s looks for things: endpoint, state dir, audit log, log file, config")
    p.set_defaults(**(defaults or {}))
    return p


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def _env_flag(name: str) -> bool:
    """A yes/no environment variable; anything else is refused (ValueError), not taken as no."""
    value = os.environ.get(name, "")
    word = value.strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise ValueError(f"{name}={value!r} is neither yes nor no (use 1 or 0)")


def settings() -> tuple[dict, str | None, Config | None]:
    """(the parser's defaults, the reason n9s must not start or None, the config file as read or None). The config
    file must be read whole and understood (n9s.core.config); N9S_READONLY must say yes or no."""
    from n9s.core.config import ConfigError, load_config

    problem = None
    config = None
    try:
        config = load_config(config_path())
    except ConfigError as err:
        problem = str(err)
    defaults = dict(config.values) if config is not None else {}
    try:
        env_readonly = _env_flag("N9S_READONLY")
    except ValueError as err:
        problem, env_readonly = problem or str(err), True
    # Read-only from any source stays on: the environment cannot be overruled by the file, nor the file by it.
    defaults["readonly"] = bool(defaults.get("readonly")) or env_readonly
    return defaults, problem, config


def say(message: str) -> None:
    """One sanitised line on stderr (its values come from outside); a terminal that is gone is no error."""
    from n9s.core.sanitize import sanitize_label

    try:
        print(f"n9s: {sanitize_label(message, 1000)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def setup_logging(args: argparse.Namespace) -> Path:
    from n9s.core.paths import open_private

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


@contextlib.contextmanager
def demo_node():
    from n9s.demo import DemoNode, default_pods

    node = DemoNode()

    def _terminate(signum, frame):  # noqa: ARG001 - signal handler signature
        raise SystemExit(128 + signum)

    old = {s: signal.signal(s, _terminate) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        say("starting a demo node (private containerd)…")
        node.start()
        node.run_pods(default_pods())
        yield node
    finally:
        # A second signal (the terminal closing after a SIGTERM) must not cut the teardown short.
        for s in old:
            signal.signal(s, signal.SIG_IGN)
        say("tearing the demo node down…")
        node.stop()
        for s, h in old.items():
            signal.signal(s, h)


def resolve_address(args: argparse.Namespace) -> str:
    from n9s.sources.endpoint import resolve_endpoint

    return resolve_endpoint(args.address).path


def cmd_info(args: argparse.Namespace, config: Config | None, problem: str | None) -> int:
    """Where n9s looks for things, and whether it would start (exit 2 when it would refuse, and why)."""
    from n9s.core.config import LOADED
    from n9s.core.sanitize import sanitize_label as safe
    from n9s.sources.endpoint import resolve_endpoint

    ep = resolve_endpoint(args.address)
    if config is None:
        state = "refused, n9s will not start"
    else:
        state = "read" if config.state == LOADED else "none there, defaults used"
    print(f"n9s {__version__}")
    print(f"runtime endpoint: {safe(ep.path, 400)} (from {safe(ep.origin, 200)})")
    print(f"containerd namespace: {safe(args.namespace, 200)}")
    print(f"pod log directory: {safe(args.pods_dir, 400)}")
    print(f"state directory: {safe(str(state_dir()), 400)}")
    for check in file_checks(args):
        print(safe(check.line(), 600))
    print(f"config file: {safe(str(config_path()), 400)} ({state})")
    print(f"read-only: {'yes' if args.readonly else 'no'}")
    if problem:
        say(problem)
        return 2
    return 0


def cmd_dump(args: argparse.Namespace, address: str) -> int:
    from n9s.render.dump import dump
    from n9s.sources.errors import SourceError

    collector = make_collector(address, args.namespace, args.pods_dir)
    try:
        text = dump(collector, interval=args.interval, fmt=args.format)
    except SourceError as err:
        say(str(err))
        return 2
    sys.stdout.write(text)
    return 0


def cmd_tui(args: argparse.Namespace, address: str | None) -> int:
    """The TUI on the runtime at ``address``, or (None) on ``--node`` through the API alone."""
    from n9s.ui.launch import build_app, run_app

    try:
        app = build_app(args, address)
    except ValueError as err:
        say(str(err))
        return 2
    return run_app(app, started_at=_START)


# A refresh allocates many short-lived objects, almost none in reference cycles: collect the youngest generation
# far less often than Python's default. Measured on Python 3.11 (docs/benchmarks.md); re-measure on another version.
GC_THRESHOLDS = (20_000, 20, 50)


def main(argv: list[str] | None = None) -> int:
    import gc

    gc.set_threshold(*GC_THRESHOLDS)
    defaults, problem, config = settings()
    args = build_parser(defaults).parse_args(argv)  # --help and --version answer even when n9s would refuse
    setup_logging(args)
    if args.command == "info":
        return cmd_info(args, config, problem)
    if problem is None and args.command != "dump":
        from n9s.core.config import view_problem

        problem = view_problem(args.view)
    if problem:
        say(problem)
        return 2
    if args.demo:
        from n9s.demo import NodeUnavailable

        try:
            with demo_node() as node:
                args.pods_dir = str(node.pods_dir)
                return _run(args, str(node.address))
        except NodeUnavailable as err:
            say(f"cannot start the demo node: {err}")
            return 2
    address = resolve_address(args)
    if args.node and not os.path.exists(address) and args.command != "dump":
        return cmd_tui(args, None)
    return _run(args, address)


def _run(args: argparse.Namespace, address: str) -> int:
    if args.command == "dump":
        return cmd_dump(args, address)
    return cmd_tui(args, address)


if __name__ == "__main__":
    sys.exit(main())
