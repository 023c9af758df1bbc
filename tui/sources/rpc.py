"""gRPC plumbing shared by the CRI and containerd clients: channels, deadlines, error translation."""
from __future__ import annotations

import threading
from typing import Any, Callable, TypeVar

import grpc

from n9s.sources.endpoint import check_socket
from n9s.sources.errors import CallFailed, NotAnswering, NotFound, PermissionDenied, SourceError, Unimplemented, Unreachable
from n9s.sources.wire_utf8 import lenient_channel

MAX_MESSAGE = 16 * 1024 * 1024
DEFAULT_TIMEOUT = 5.0
T = TypeVar("T")


def open_channel(path: str) -> grpc.Channel:
    check_socket(path)
    return grpc.insecure_channel(
        f"unix://{path}",
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.max_send_message_length", MAX_MESSAGE),
            ("grpc.enable_retries", 0),
        ],
    )


def translate(err: grpc.RpcError, path: str, what: str, timeout: float | None = None) -> SourceError:
    """``timeout``: the call's deadline in seconds, named in the message when it passed without an answer."""
    code = err.code() if hasattr(err, "code") else None
    details = (err.details() if hasattr(err, "details") else "") or ""
    if code == grpc.StatusCode.UNAVAILABLE:
        low = details.lower()
        if "connection refused" in low or "no such file" in low or "failed to connect" in low and "http" not in low:
            return Unreachable(f"nobody listens on {path}", hint="is containerd running? set --address")
        if "http" in low or "frame" in low or "protocol" in low or "handshake" in low or "header" in low:
            return Unreachable(f"{path} is not a gRPC server", hint="point --address at containerd's gRPC socket")
        return Unreachable(f"runtime at {path} unavailable: {details or 'no answer'}")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        within = f"within {timeout:g} s" if timeout else "in time"
        return NotAnswering(f"{what}: the runtime at {path} did not answer {within}", waited_s=timeout or 0.0)
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return Unimplemented(f"the runtime does not implement {what}", hint="an older runtime, or the CRI plugin is disabled")
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFound(f"{what}: {details or 'not found'}")
    if code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
        return PermissionDenied(f"{what}: {details}", hint="run as root or as a member of the socket's group")
    if code == grpc.StatusCode.INTERNAL and ("http" in details.lower() or "frame" in details.lower()):
        return Unreachable(f"{path} is not a gRPC server", hint="point --address at containerd's gRPC socket")
    name = code.name if code is not None else "error"
    return CallFailed(f"{what} failed ({name}): {details}")


class RpcClient:
    """Base: one channel, every call with a deadline, every error translated."""

    def __init__(self, path: str, *, timeout: float = DEFAULT_TIMEOUT, metadata: tuple[tuple[str, str], ...] = ()):
        self.path = path
        self.timeout = timeout
        self.metadata = metadata
        self._channel: grpc.Channel | None = None
        # reconnect() sets channels aside here; they are closed once no call of this client is under way, since
        # closing a channel ends every call on it ("Channel closed!"), another thread's too.
        self._retired: list[grpc.Channel] = []
        self._calls = 0
        self._calls_lock = threading.Lock()

    @property
    def channel(self) -> grpc.Channel:
        if self._channel is None:
            self._channel = open_channel(self.path)
            # Stubs parse answers leniently: one object with invalid UTF-8 must not hide the whole node.
            self._stubs_ready(lenient_channel(self._channel))
        return self._channel

    def _stubs_ready(self, channel: grpc.Channel) -> None:  # pragma: no cover - overridden
        pass

    def close(self) -> None:
        """Close now: calls and streams under way end (the app's exit, an event stream to cancel)."""
        with self._calls_lock:
            channels, self._retired = self._retired, []
        if self._channel is not None:
            channels.append(self._channel)
            self._channel = None
        for channel in channels:
            channel.close()

    def reconnect(self) -> None:
        """A fresh channel for the next call (grpc's own reconnect backoff can grow far beyond a refresh); the old
        one is closed only when no call of this client is under way, so a call another thread waits on (an
        action) still gets its answer or its own deadline."""
        with self._calls_lock:
            if self._channel is not None:
                self._retired.append(self._channel)
                self._channel = None
            idle = self._calls == 0
        if idle:
            self._close_retired()

    def _close_retired(self) -> None:
        with self._calls_lock:
            if self._calls:
                return
            channels, self._retired = self._retired, []
        for channel in channels:
            channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, what: str, method: Callable[..., T], request: Any, *, timeout: float | None = None) -> T:
        self.channel  # opens lazily and checks the socket first
        deadline = timeout or self.timeout
        with self._calls_lock:
            self._calls += 1
        try:
            return method(request, timeout=deadline, metadata=self.metadata or None)
        except grpc.RpcError as err:
            raise translate(err, self.path, what, deadline) from None
        except ValueError as err:
            if "closed channel" not in str(err):  # grpc: "Cannot invoke RPC on closed channel!"
                raise
            raise Unreachable(f"{what}: the connection to {self.path} was being renewed; try again") from None
        finally:
            with self._calls_lock:
                self._calls -= 1
                retired = bool(self._retired) and self._calls == 0
            if retired:
                self._close_retired()

    def stream(self, what: str, method: Callable[..., Any], request: Any, *, timeout: float | None = None):
        """Yield the messages of a server stream; ``timeout=None`` means no deadline (long-lived streams)."""
        self.channel
        try:
            call = method(request, timeout=timeout, metadata=self.metadata or None)
            for message in call:
                yield message
        except grpc.RpcError as err:
            if getattr(err, "code", lambda: None)() == grpc.StatusCode.CANCELLED:
                return
            raise translate(err, self.path, what) from None

