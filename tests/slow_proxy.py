"""A byte-forwarding proxy for fault tests that holds every chunk back for `delay` seconds.

It listens on a unix socket (in front of containerd's socket) or on loopback TCP (in front of an HTTP server) and
forwards bytes both ways unchanged; each chunk read is sent on only `delay` seconds later, in order. Chunks are
delayed independently, so a stream keeps flowing, just late: exactly what a runtime or API server that takes
seconds to answer looks like to a client. `delay` may be changed at any time; it applies to chunks read after.

`hold()` stops forwarding altogether (connections are still accepted and bytes read, none sent on) and `release()`
sends everything held, in order: what a server SIGSTOP'ed and then SIGCONT'ed looks like to a client.
`rewrite`, when given, changes each chunk of the answers on the way back (keep lengths: gRPC frames count bytes).
"""
from __future__ import annotations

import os
import socket
import threading
import time
from collections import deque
from typing import Callable


class SlowProxy:
    def __init__(self, target: str | tuple[str, int], *, listen: str | None = None, delay: float = 0.0,
                 rewrite: Callable[[bytes], bytes] | None = None) -> None:
        """`target`: a unix socket path or a (host, port) pair. `listen`: a unix socket path for the proxy
        (required for a unix target); a TCP target gets a loopback port (see `port`)."""
        self.target = target
        self.listen_path = listen
        self.delay = delay
        self.rewrite = rewrite
        self.connections = 0
        self._stop = threading.Event()
        self._flowing = threading.Event()
        self._flowing.set()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        if isinstance(target, str):
            if listen is None:
                raise ValueError("a unix target needs a unix listen path")
            if os.path.exists(listen):
                os.unlink(listen)
            self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._server.bind(listen)
        else:
            self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self._server.settimeout(0.1)
        self._thread = threading.Thread(target=self._accept, name="slow-proxy", daemon=True)

    @property
    def port(self) -> int:
        return self._server.getsockname()[1]

    def start(self) -> "SlowProxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._server.close()
        with self._lock:
            for s in self._sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self._sockets.clear()
        if self.listen_path and os.path.exists(self.listen_path):
            os.unlink(self.listen_path)

    def hold(self) -> None:
        """Forward nothing until release()."""
        self._flowing.clear()

    def release(self) -> None:
        self._flowing.set()

    def __enter__(self) -> "SlowProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _connect(self) -> socket.socket:
        if isinstance(self.target, str):
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
        else:
            upstream = socket.create_connection(self.target)
        return upstream

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            try:
                upstream = self._connect()
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
                self.connections += 1
            for src, dst, rewrite in ((client, upstream, None), (upstream, client, self.rewrite)):
                threading.Thread(target=self._pump, args=(src, dst, rewrite), daemon=True,
                                 name="slow-proxy-pump").start()

    def _pump(self, src: socket.socket, dst: socket.socket,
              rewrite: Callable[[bytes], bytes] | None = None) -> None:
        """Read chunks from src at once; a sender thread writes each to dst when its delay is over."""
        queue: deque[tuple[float, bytes]] = deque()
        ready = threading.Condition()
        done = threading.Event()

        def send() -> None:
            while True:
                with ready:
                    while not queue and not done.is_set():
                        ready.wait(0.1)
                    if not queue:
                        break
                    due, chunk = queue[0]
                wait = due - time.monotonic()
                if wait > 0 and not self._stop.wait(min(wait, 0.05)):
                    continue
                if not self._flowing.is_set():
                    if self._stop.is_set():
                        break
                    self._flowing.wait(0.05)
                    continue
                with ready:
                    queue.popleft()
                try:
                    dst.sendall(chunk)
                except OSError:
                    break
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        sender = threading.Thread(target=send, daemon=True, name="slow-proxy-send")
        sender.start()
        while not self._stop.is_set():
            try:
                chunk = src.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            if rewrite is not None:
                chunk = rewrite(chunk)
            with ready:
                queue.append((time.monotonic() + self.delay, chunk))
                ready.notify()
        done.set()
