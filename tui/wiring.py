"""The node's parts as the command line asks for them: the collector over one runtime socket, the API side, and
the notices about files n9s cannot write. Shared by the commands (`n9s.cli`) and the app builder (`n9s.ui.launch`).
Headless."""
from __future__ import annotations

import argparse

from n9s.core.paths import log_file_path


def file_checks(args: argparse.Namespace) -> list:
    """Whether n9s can write each of its files, as it would open them."""
    from n9s.core.paths import audit_log_path, check_writable

    return [check_writable("audit log", audit_log_path()), check_writable("log file", log_file_path(args.log_file))]


def file_notices(args: argparse.Namespace) -> tuple[str, ...]:
    """What the TUI says at start about files it will not or cannot write."""
    from n9s.core.sanitize import sanitize_label

    notes = []
    for check in file_checks(args):
        if not check.ok:
            then = " Actions will not run until it can be written." if check.what == "audit log" else ""
            notes.append(sanitize_label(f"{check.what} {check.problem}.{then}", max_len=600))
    return tuple(notes)


def make_collector(address: str, namespace: str, pods_dir: str, api=None):
    from n9s.model.collector import Collector
    from n9s.sources.cgroups.reader import CgroupReader, raise_open_file_limit
    from n9s.sources.containerd import ContainerdClient
    from n9s.sources.cri import CriClient

    cri = CriClient(address)
    ctd = ContainerdClient(address, namespace=namespace)
    # cgroup files stay open between refreshes and are re-read with pread (cheaper than reopening: docs/benchmarks.md);
    # the soft fd limit is raised toward the hard one first, and the reader keeps within it (see CgroupReader).
    raise_open_file_limit()
    return Collector(cri, ctd, CgroupReader(keep_open=True), pods_dir=pods_dir, api=api)


def make_api_side(args: argparse.Namespace):
    if getattr(args, "no_api", False):
        return None
    from n9s.model.api_side import ApiSide

    return ApiSide(kubeconfig=args.kubeconfig, context=args.context, node=args.node).start()
