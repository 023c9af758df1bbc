"""One builder for the TUI in every mode (on the node, on the demo node, remote through the API alone), and one
way to run it: the collector, the action layer, the app's settings and SIGTERM/SIGHUP handling are set up here
only, so the modes cannot drift apart. Heavy imports wait until an app is built."""
from __future__ import annotations

import argparse
import sys
from typing import Any

MIN_REFRESH_S = 0.2  # on the node; through the API every refresh is an HTTP round trip
MIN_REMOTE_REFRESH_S = 0.5


def build_app(args: argparse.Namespace, address: str | None) -> Any:
    """The app for ``args``: on the runtime at ``address``, or (``address`` None) the node ``args.node`` through
    the Kubernetes API alone. Raises ValueError when remote mode has no API."""
    from n9s.wiring import file_notices, make_api_side, make_collector
    from n9s.model.collector import BackgroundRefresh
    from n9s.model.seams import PictureSource
    from n9s.render.viewspec import find_view

    remote = address is None
    if remote and args.no_api:
        raise ValueError("--node without a local runtime needs the Kubernetes API (drop --no-api)")
    api = make_api_side(args)
    collector: PictureSource
    if address is None:
        from n9s.model.remote import RemoteCollector

        collector = RemoteCollector(api)
        first = None
    else:
        collector = make_collector(address, args.namespace, args.pods_dir, api=api)
        # The first refresh runs while Textual and the screens are imported (views that need more wait for the app).
        start = find_view(args.view)
        plain = start is None or set(start.needs) <= {"container-stats", "pod-stats"}
        first = BackgroundRefresh(collector) if plain else None

    from n9s.actions.layer import Actions, node_actions
    from n9s.ui.app import AppConfig, N9sApp
    from n9s.actions.audit import AuditLog

    events = None
    if address is not None:
        from n9s.sources.containerd import ContainerdClient

        events = ContainerdClient(address, namespace=args.namespace)
    # The action layer has runtime clients of its own: the refresh renews its channel when the runtime stops answering.
    options = dict(readonly=args.readonly, audit=AuditLog(), kube=api)
    actions = Actions(None, None, **options) if address is None else node_actions(address, args.namespace, **options)
    config = AppConfig(refresh_s=max(MIN_REMOTE_REFRESH_S if remote else MIN_REFRESH_S, args.refresh),
                       readonly=args.readonly, start_view=args.view,
                       exit_after_first_paint=args.exit_after_first_paint, theme=args.theme,
                       keymap=dict(getattr(args, "keymap", None) or {}), notices=file_notices(args))
    app = N9sApp(collector, config, events=events, actions=actions, first_refresh=first)
    if api is not None:
        api.on_change = app.refresh_from_thread
    return app


def run_app(app: Any, started_at: float | None = None) -> int:
    """Run ``app`` until it ends or SIGTERM/SIGHUP ends it (exit code 128 + the signal); the exit code."""
    import asyncio

    from n9s.core.daemon_threads import DaemonThreadPool
    from n9s.core.exit_signals import exit_on_signals
    from n9s.core.hangup_watch import hangup_sends_sighup

    loop = asyncio.new_event_loop()
    loop.set_default_executor(DaemonThreadPool())

    def ask_exit(signum: int) -> None:
        try:
            loop.call_soon_threadsafe(app.exit, None, 128 + signum)
        except RuntimeError:
            pass  # the loop has closed: the app is over already

    try:
        with exit_on_signals(ask_exit), hangup_sends_sighup():
            app.run(loop=loop)
    finally:
        _close_loop(loop)
        actions = getattr(app, "actions", None)
        if actions is not None:
            actions.abandon_in_flight()  # a call still under way: its outcome is unknown, and the log says so
        _end_left_over(actions)
    if app.config.exit_after_first_paint and app.first_paint_at is not None and started_at is not None:
        print(f"first full screen after {app.first_paint_at - started_at:.3f}s", file=sys.stderr)
    return app.return_code or 0


def _end_left_over(actions: Any) -> None:
    """The exec processes n9s started and the user did not keep end with n9s (a session's own end failed)."""
    from n9s.actions.exec_cleanup import end_left_over

    for settled in end_left_over(actions):
        try:
            print(f"n9s: {settled.note}", file=sys.stderr)
        except OSError:  # the terminal is gone
            pass


def _close_loop(loop: Any) -> None:
    """What asyncio.run does after its coroutine, less waiting for the executor (see core.daemon_threads)."""
    import asyncio

    if loop.is_closed():
        return
    try:
        tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()

