"""CRI exec and attach streams: the runtime's streaming server over WebSocket (`v4.channel.k8s.io`), a terminal
pump that wires a stream to a real tty, and the choice of a shell. Headless: no textual or rich here.

Wire facts (docs/exec-sessions.md): every message is a binary frame `[channel] + payload`; 0 stdin, 1 stdout,
2 stderr, 3 status (a metav1.Status JSON, sent once before the server closes), 4 resize (`{"Width", "Height"}`).
The server opens with one empty frame, so zero-length payloads are skipped.
"""
from __future__ import annotations

import json
import os
import select
import signal
import ssl
import termios
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import websocket

from n9s.sources.errors import CallFailed, SourceError, Unreachable
from n9s.sources.exec_screen import SessionScreen

PROTOCOL = "v4.channel.k8s.io"
STDIN, STDOUT, STDERR, STATUS, RESIZE = 0, 1, 2, 3, 4
DETACH_KEY = b"\x1d"  # ctrl-]: leaves a session the container does not end
DETACH_KEY_NAME = "ctrl-]"
CONNECT_TIMEOUT_S = 10.0
SHELL_CANDIDATES: tuple[tuple[str, ...], ...] = (("bash",), ("sh",))
_MISSING_BINARY = ("executable file not found", "no such file or directory")


@dataclass(frozen=True)
class StreamStatus:
    """How a stream ended. `exit_code` is None when the server did not say (attach, a runtime error, a stream
    cut short); `message` then tells why."""

    exit_code: int | None
    message: str = ""


@dataclass(frozen=True)
class SessionEnd:
    """What the terminal pump returns: the stream's status, or `detached` when the session was left while it
    ran: the user left with ctrl-] (`kept` when they chose to leave its process running), the terminal went
    away (`hung_up`), or n9s was told to end (`signal`, the signal's number)."""

    exit_code: int | None
    detached: bool = False
    message: str = ""
    kept: bool = False
    hung_up: bool = False
    signal: int = 0


def parse_status(payload: bytes) -> StreamStatus:
    """Channel 3's metav1.Status: Success is exit 0; NonZeroExitCode carries the code in details.causes."""
    try:
        status = json.loads(payload.decode("utf-8", "replace"))
    except ValueError:
        # Pre-v4 servers put plain text here; we never ask for those, but keep the words.
        return StreamStatus(None, payload.decode("utf-8", "replace").strip())
    if not isinstance(status, dict):
        return StreamStatus(None, str(status))
    if status.get("status") == "Success":
        return StreamStatus(0)
    message = str(status.get("message") or "")
    if status.get("reason") == "NonZeroExitCode":
        causes = (status.get("details") or {}).get("causes") or []
        for cause in causes:
            if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
                try:
                    return StreamStatus(int(cause.get("message", "")), message)
                except ValueError:
                    break
    return StreamStatus(None, message or "the runtime ended the stream with an error")


def frame(channel: int, payload: bytes) -> bytes:
    return bytes((channel,)) + payload


def resize_payload(cols: int, rows: int) -> bytes:
    clamp = lambda n: max(0, min(int(n), 0xFFFF))  # noqa: E731 - uint16 on the wire
    return json.dumps({"Width": clamp(cols), "Height": clamp(rows)}).encode()


def websocket_url(url: str) -> str:
    if url.startswith("http://"):
        return "ws://" + url[len("http://"):]
    if url.startswith("https://"):
        return "wss://" + url[len("https://"):]
    if url.startswith(("ws://", "wss://")):
        return url
    raise CallFailed(f"the runtime gave a streaming URL n9s cannot use: {url!r}")


class StreamSession:
    """One exec or attach stream. Connects in the constructor; read with `read()`/`iter_output()`, write with
    `send_stdin()` and `resize()`, end with `wait()` (the exit code) or `close()`.

    Reads happen on one thread; sends are locked, so a resize may come from another thread. An attach stream
    says Success however the process ended: pass `reports_exit_code=False` and ask ContainerStatus instead."""

    def __init__(self, url: str, *, timeout: float = CONNECT_TIMEOUT_S, reports_exit_code: bool = True) -> None:
        ws_url = websocket_url(url)
        # The streaming server listens on the node's loopback with the runtime's own self-signed certificate.
        sslopt = {"cert_reqs": ssl.CERT_NONE, "check_hostname": False} if ws_url.startswith("wss://") else None
        try:
            self._ws = websocket.create_connection(ws_url, subprotocols=[PROTOCOL], timeout=timeout, sslopt=sslopt)
        except websocket.WebSocketBadStatusException as err:
            raise CallFailed(f"the streaming server refused the session (HTTP {err.status_code}); "
                             "the exec token is single-use and expires after a minute") from None
        except (OSError, websocket.WebSocketException) as err:
            raise Unreachable(f"cannot reach the runtime's streaming server at {url}: {err}") from None
        if self._ws.getsubprotocol() != PROTOCOL:
            self._ws.close()
            raise CallFailed(f"the streaming server does not speak {PROTOCOL}, so exit codes would be lost")
        self._ws.settimeout(None)  # waits go through poll(); a frame that has begun is read whole
        self._send_lock = threading.Lock()
        self._closed = False
        self.reports_exit_code = reports_exit_code
        self.status: StreamStatus | None = None

    # ---- writing ----
    def _send(self, channel: int, payload: bytes) -> None:
        if self._closed:
            return
        with self._send_lock:
            try:
                self._ws.send_bytes(frame(channel, payload))
            except (OSError, websocket.WebSocketException):
                self._closed = True

    def send_stdin(self, data: bytes) -> None:
        if data:
            self._send(STDIN, data)

    def resize(self, cols: int, rows: int) -> None:
        self._send(RESIZE, resize_payload(cols, rows))

    # ---- reading ----
    def fileno(self) -> int:
        return self._ws.sock.fileno() if self._ws.sock is not None else -1

    @property
    def closed(self) -> bool:
        return self._closed

    def read(self, timeout: float | None = None) -> tuple[int, bytes] | None:
        """The next stdout (1) or stderr (2) chunk. None when nothing came within `timeout` or the stream ended
        (then `closed` is true and `status` holds what the server said)."""
        while not self._closed:
            if timeout is not None:
                if not wait_readable([self], timeout):
                    return None
            try:
                opcode, data = self._ws.recv_data()
            except (OSError, websocket.WebSocketException):
                self._closed = True
                break
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                self._closed = True
                break
            if len(data) < 2:
                continue  # the server's empty hello, or an empty write
            channel, payload = data[0], data[1:]
            if channel == STATUS:
                status = parse_status(payload)
                self.status = status if self.reports_exit_code else StreamStatus(None, status.message)
            elif channel in (STDOUT, STDERR):
                return channel, payload
        if self.status is None:
            self.status = StreamStatus(None, "the stream ended without an exit status")
        return None

    def iter_output(self, timeout: float | None = None) -> Iterator[tuple[int, bytes]]:
        """Every output chunk until the stream ends (or `timeout` seconds pass with nothing new)."""
        while True:
            item = self.read(timeout)
            if item is None:
                return
            yield item

    def wait(self, timeout: float | None = None,
             on_output: Callable[[int, bytes], None] | None = None) -> int | None:
        """Read to the end of the stream and return the exit code (None when the server did not give one)."""
        for channel, payload in self.iter_output(timeout):
            if on_output is not None:
                on_output(channel, payload)
        return self.status.exit_code if self.status is not None and self._closed else None

    def close(self) -> None:
        self._closed = True
        try:
            self._ws.close(timeout=1)
        except (OSError, websocket.WebSocketException):
            pass

    def __enter__(self) -> "StreamSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- the local terminal ----
def terminal_size(fd: int) -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.columns, size.lines


def _session_mode(attrs: list, *, tty: bool, echo: bool) -> list:
    """Raw for a TTY session (the container's terminal does the echoing and line editing). For a non-TTY
    stream: no line buffering and no signals (so ctrl-] and ctrl-c arrive as bytes), but keep output newline
    translation, and echo typed keys when they are sent."""
    mode = list(attrs)
    mode[6] = list(attrs[6])
    if tty:
        # iflag, oflag, cflag, lflag as cfmakeraw sets them
        mode[0] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP | termios.INLCR
                     | termios.IGNCR | termios.ICRNL | termios.IXON)
        mode[1] &= ~termios.OPOST
        mode[2] = (mode[2] & ~(termios.CSIZE | termios.PARENB)) | termios.CS8
        mode[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    else:
        mode[0] &= ~termios.IXON
        mode[3] &= ~(termios.ICANON | termios.ISIG | termios.IEXTEN)
        if not echo:
            mode[3] &= ~termios.ECHO
    mode[6][termios.VMIN] = 1
    mode[6][termios.VTIME] = 0
    return mode


def wait_readable(sources: list[Any], timeout: float | None) -> list[Any]:
    """The ``sources`` (fds or objects with ``fileno()``) ready to read, ended or failed, waiting at most
    ``timeout`` seconds (None: until one is). poll(), not select(): n9s keeps thousands of cgroup files open, so
    a socket's descriptor can be above select()'s limit of 1024."""
    poller = select.poll()
    by_fd: dict[int, Any] = {}
    for source in sources:
        fd = source if isinstance(source, int) else source.fileno()
        by_fd[fd] = source
        poller.register(fd, select.POLLIN | select.POLLPRI)
    events = poller.poll(None if timeout is None else max(0, int(timeout * 1000)))
    return [by_fd[fd] for fd, _ in events if fd in by_fd]


def _wait(fd: int, mask: int, timeout: float) -> None:
    poller = select.poll()
    poller.register(fd, mask)
    poller.poll(int(timeout * 1000))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            _wait(fd, select.POLLOUT, 1.0)
            continue
        view = view[written:]


LEAVE_END_KEYS = (b"\r", b"\n", b"e", b"E")  # after the detach key: end the process and leave
LEAVE_KEEP_KEYS = (b"k", b"K")  # ... leave it running
ENDING_SIGNALS = (signal.SIGHUP, signal.SIGTERM)  # the terminal hung up; n9s is told to end


def pump_terminal(session: StreamSession, *, tty: bool, stdin: bool, stdin_fd: int = 0, stdout_fd: int = 1,
                  detach_keys: bytes = DETACH_KEY, screen: SessionScreen | None = None, leave_prompt: str = "",
                  on_output: Callable[[], None] | None = None) -> SessionEnd:
    """Wire `session` to a real terminal until the stream ends, the user leaves, the terminal hangs up, or n9s is
    told to end (SIGHUP, SIGTERM: noticed here, so the caller can end what the session started, then act on it).

    Keys flow in (when `stdin`), output flows out as it came, as kubectl does: this is the user's own terminal
    (with `screen`, below its status line). With `tty`, the terminal goes raw, its size is sent at once and
    again on every SIGWINCH. A detach key leaves at once, or, with `leave_prompt`, asks first (in the status
    line): Enter ends, k keeps the process running, any other key goes back. `on_output` is called once, at the
    session's first output. Signal handlers are installed only on the main thread. The terminal mode and the old
    handlers come back in every case."""
    is_tty = os.isatty(stdin_fd)
    saved = termios.tcgetattr(stdin_fd) if is_tty else None
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    resized = threading.Event()
    signalled: list[int] = []
    old_handlers: dict[int, Any] = {}
    on_main = threading.current_thread() is threading.main_thread()

    def wake() -> None:
        try:
            os.write(wake_w, b"w")
        except OSError:
            pass

    def on_winch(signum, frame_) -> None:  # noqa: ARG001 - signal handler signature
        resized.set()
        wake()

    def on_ending(signum, frame_) -> None:  # noqa: ARG001 - signal handler signature
        signalled.append(signum)
        wake()

    def send_size() -> None:
        resized.clear()
        if screen is not None:
            screen.resized()
            session.resize(*screen.remote_size())
            return
        size = terminal_size(stdin_fd) or terminal_size(stdout_fd)
        if size is not None:
            session.resize(*size)

    try:
        if on_main:
            for number in ENDING_SIGNALS:
                old_handlers[number] = signal.signal(number, on_ending)
        if saved is not None:
            termios.tcsetattr(stdin_fd, termios.TCSANOW, _session_mode(saved, tty=tty, echo=stdin))
        if screen is not None:
            screen.begin()
        if tty:
            if on_main:
                old_handlers[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, on_winch)
            send_size()
        pump = _Pump(session, stdin_fd, stdout_fd, wake_r, resized, send_size if tty else None, signalled,
                     forward=stdin, detach_keys=detach_keys, screen=screen, leave_prompt=leave_prompt,
                     on_output=on_output)
        return pump.run()
    finally:
        if screen is not None:
            try:
                screen.end()
            except OSError:
                pass
        for signum, handler in old_handlers.items():
            signal.signal(signum, handler)
        if saved is not None:
            try:
                termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)
            except termios.error:
                pass
        os.close(wake_r)
        os.close(wake_w)


class _Pump:
    """One session's loop: output to the terminal, keys to the session, a leave question in between."""

    def __init__(self, session: StreamSession, stdin_fd: int, stdout_fd: int, wake_r: int,
                 resized: threading.Event, send_size: Callable[[], None] | None, signalled: list[int], *,
                 forward: bool, detach_keys: bytes, screen: SessionScreen | None, leave_prompt: str,
                 on_output: Callable[[], None] | None) -> None:
        self.session = session
        self.stdin_fd, self.stdout_fd, self.wake_r = stdin_fd, stdout_fd, wake_r
        self.resized, self.send_size, self.signalled = resized, send_size, signalled
        self.forward, self.detach_keys = forward, detach_keys
        self.screen, self.leave_prompt = screen, leave_prompt
        self.on_output = on_output
        self.asking = False

    def _write(self, data: bytes) -> None:
        if self.screen is not None:
            self.screen.output(data)
        else:
            _write_all(self.stdout_fd, data)

    def _ended(self) -> SessionEnd:
        status = self.session.status or StreamStatus(None, "the stream ended")
        return SessionEnd(status.exit_code, False, status.message)

    def _left(self, message: str, **how: Any) -> SessionEnd:
        self.session.close()
        return SessionEnd(None, True, message, **how)

    def run(self) -> SessionEnd:
        session = self.session
        while True:
            if session.closed:  # a send failed: the connection is gone
                status = session.status or StreamStatus(None, "the connection to the runtime broke")
                return SessionEnd(status.exit_code, False, status.message)
            ready = wait_readable([session, self.wake_r, self.stdin_fd], None)  # a signal wakes it via wake_r
            if self.wake_r in ready:
                os.read(self.wake_r, 512)
            if self.signalled:
                number = self.signalled[0]
                return self._left(f"n9s got {signal.Signals(number).name}", signal=number,
                                  hung_up=number == signal.SIGHUP)
            if self.send_size is not None and self.resized.is_set():
                self.send_size()  # before any keys, so a command typed after a resize sees the new size
            if session in ready:
                item = session.read(0)
                if item is None and session.closed:
                    return self._ended()
                if item is not None:
                    try:
                        self._write(item[1])
                    except OSError:
                        return self._left("the terminal went away", hung_up=True)
                    if self.on_output is not None:
                        notify, self.on_output = self.on_output, None
                        notify()
            if self.stdin_fd in ready:
                end = self._keys()
                if end is not None:
                    return end

    def _keys(self) -> SessionEnd | None:
        try:
            data = os.read(self.stdin_fd, 4096)
        except OSError:
            data = b""
        if not data:
            # The terminal is gone (EOF or EIO): nobody is left to type; leave the session.
            return self._left("the terminal closed", hung_up=True)
        if self.asking:
            return self._answer(data)
        cut = min((i for i in (data.find(bytes((k,))) for k in self.detach_keys) if i >= 0), default=-1)
        if cut < 0:
            if self.forward:
                self.session.send_stdin(data)
            return None
        if self.forward:
            self.session.send_stdin(data[:cut])
        if not self.leave_prompt:
            return self._left("detached")
        self.asking = True
        self._show(self.leave_prompt)
        rest = data[cut + 1:]
        return self._answer(rest) if rest else None

    def _answer(self, data: bytes) -> SessionEnd | None:
        key = data[:1]
        if key in LEAVE_END_KEYS or key in tuple(bytes((k,)) for k in self.detach_keys):
            return self._left("detached")
        if key in LEAVE_KEEP_KEYS:
            return self._left("detached, kept running", kept=True)
        self.asking = False  # any other key: back to the session (the key itself goes nowhere)
        self._show(self.screen.status if self.screen is not None else "")
        return None

    def _show(self, text: str) -> None:
        try:
            if self.screen is not None:
                self.screen.show(text)
            elif text:
                _write_all(self.stdout_fd, b"\r\n" + text.encode("utf-8", "replace") + b"\r\n")
        except OSError:
            pass


def run_in_terminal(url: str, *, tty: bool, stdin: bool, hint: str = "", stdin_fd: int = 0, stdout_fd: int = 1,
                    detach_keys: bytes = DETACH_KEY, reports_exit_code: bool = True, leave_prompt: str = "",
                    on_connected: Callable[[], None] | None = None,
                    on_output: Callable[[], None] | None = None) -> SessionEnd:
    """Connect to `url` and pump it to the terminal on `stdin_fd`/`stdout_fd` until it ends. `hint` (one line of
    our own text, already safe) names the target and how to leave: on a terminal it is the status line above a
    clean screen (see SessionScreen), elsewhere the first line written. `on_connected` runs once the stream is
    up (the runtime starts an exec's process then)."""
    session = StreamSession(url, reports_exit_code=reports_exit_code)
    try:
        if on_connected is not None:
            on_connected()
        screen = None
        if os.isatty(stdout_fd):
            screen = SessionScreen(lambda data: _write_all(stdout_fd, data),
                                   lambda: terminal_size(stdout_fd) or terminal_size(stdin_fd), hint)
        elif hint:
            _write_all(stdout_fd, hint.encode("utf-8", "replace") + b"\r\n")
        return pump_terminal(session, tty=tty, stdin=stdin, stdin_fd=stdin_fd, stdout_fd=stdout_fd,
                             detach_keys=detach_keys, screen=screen, leave_prompt=leave_prompt,
                             on_output=on_output)
    finally:
        session.close()


# ---- shell choice ----
def is_missing_binary(message: str) -> bool:
    low = message.lower()
    return any(words in low for words in _MISSING_BINARY)


def choose_shell(probe: Callable[[list[str]], bool],
                 candidates: tuple[tuple[str, ...], ...] | None = None) -> list[str] | None:
    """The first shell that runs in the container, or None when there is none (a distroless image).

    `probe(argv)` runs `argv` once (e.g. `bash -c "exit 0"` with ExecSync) and returns whether it ran; it
    returns False when the binary is missing and raises SourceError for anything else (the container stopped,
    the runtime went away), so a broken runtime is never reported as "no shell"."""
    for shell in candidates if candidates is not None else SHELL_CANDIDATES:
        if probe([*shell, "-c", "exit 0"]):
            return list(shell)
    return None


def probe_result(ok: bool, message: str, exit_code: int | None) -> bool:
    """Turn one ExecSync outcome into choose_shell's answer (see there)."""
    if ok:
        return exit_code == 0
    if is_missing_binary(message):
        return False
    raise SourceError(message)
