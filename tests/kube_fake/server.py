"""A small Kubernetes API server for tests: real wire format, in-memory objects, controllable failures.

It serves /version, /api, /api/v1, pods (list, get, watch, delete, log), nodes (list, get, kubelet
stats summary through the node proxy) and events, all as JSON with resourceVersion bookkeeping:
every change gets the next version and is kept in a history, watches replay the history after the
version they start from, and `expire_resource_versions()` drops the history so older versions get
410 Gone (an ERROR event with a Status, or an HTTP 410 with `gone_style="http"`).

Controls: set_mode("ok" | "401" | "403" | "down"); "down" stops listening and cuts every open
connection, "ok" listens again on the same port. Requests need `Authorization: Bearer <token>`.
"""
from __future__ import annotations

import base64
import copy
import json
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .manifests import (
    container,
    event_manifest,
    node_manifest,
    pod_manifest,
    pod_ref,
    pods_from_specs,
    stable_uid,
    summary_manifest,
    ts,
)

# The builders are re-exported so that tests can take everything from the server module.
__all__ = [
    "FakeKube", "Request", "container", "event_manifest", "field_selector_matches", "label_selector_matches",
    "node_manifest", "pod_manifest", "pod_ref", "pods_from_specs", "stable_uid", "status_body",
    "summary_manifest", "ts",
]

MODES = ("ok", "401", "403", "down")


def status_body(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


def _path_value(obj: Any, dotted: str) -> str:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return ""
        obj = obj.get(part)
    if obj is None:
        return ""
    if isinstance(obj, bool):
        return "true" if obj else "false"
    return str(obj)


def field_selector_matches(obj: dict, selector: str) -> bool:
    """`a.b=c,d!=e` with = / == / != on dotted paths, as the API server does for supported fields."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if _path_value(obj, key.strip()) == value.strip():
                return False
        else:
            key, value = re.split(r"==?", term, maxsplit=1)
            if _path_value(obj, key.strip()) != value.strip():
                return False
    return True


_LABEL_TERM = re.compile(r"\s*(!?)([\w./-]+)\s*(?:(notin|in)\s*\(([^)]*)\)|(==|=|!=)\s*([\w./-]*))?\s*(?:,|$)")


def label_selector_matches(labels: dict, selector: str) -> bool:
    """Equality (`a=b`, `a!=b`), set (`a in (x,y)`, `a notin (x)`) and existence (`a`, `!a`) terms."""
    pos = 0
    selector = selector.strip()
    while pos < len(selector):
        m = _LABEL_TERM.match(selector, pos)
        if not m or m.end() == pos:
            raise ValueError(f"unable to parse requirement: {selector[pos:]!r}")
        pos = m.end()
        negate, key, setop, values, eqop, value = m.groups()
        if setop:
            options = {v.strip() for v in values.split(",") if v.strip()}
            if (labels.get(key) in options) != (setop == "in"):
                return False
        elif eqop:
            if (labels.get(key) == value) != (eqop in ("=", "==")):
                return False
        elif (key in labels) == bool(negate):
            return False
    return True


@dataclass
class LogLine:
    at: float
    text: str | bytes  # bytes for output that is not valid UTF-8


@dataclass
class ContainerLog:
    lines: list[LogLine]
    previous: list[LogLine] | None = None


@dataclass(frozen=True)
class Request:
    """A request as the fake saw it (the Authorization header is not kept)."""

    method: str
    path: str
    query: dict[str, str]
    body: dict | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, fake: FakeKube) -> None:
        self.fake = fake
        super().__init__(address, handler)
        if fake.tls_context is not None:
            # The handshake happens in the handler's thread, on its first read.
            self.socket = fake.tls_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def process_request(self, request, client_address):
        with self.fake._conns_lock:
            self.fake._conns.add(request)
        super().process_request(request, client_address)

    def handle_error(self, request, client_address):
        pass  # clients that hang up or refuse our certificate are part of the tests

    def shutdown_request(self, request):
        with self.fake._conns_lock:
            self.fake._conns.discard(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -------------------------------------------------------------- plumbing

    def _send_json(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_status(self, code: int, reason: str, message: str) -> None:
        self._send_json(code, status_body(code, reason, message))

    def _start_chunked(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def _end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = self._body() if method == "DELETE" else {}
        path = unquote(url.path)
        fake._record(Request(method, path, query, body or None))
        scheme, _, credential = (self.headers.get("Authorization") or "").partition(" ")
        if fake.mode == "401" or scheme.lower() != "bearer" or credential.strip() != fake.token:
            self._send_status(401, "Unauthorized", "Unauthorized")
            return
        try:
            fake._route(self, method, path, query, body)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


class FakeKube:
    """The fake API server. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        *,
        pods: list[dict] = (),
        nodes: list[dict] = (),
        events: list[dict] = (),
        token: str = "n9s-fake-token-0123456789abcdef",
        user: str = "system:serviceaccount:default:n9s",
        bookmark_interval: float = 0.5,
        deletion_delay: float = 0.2,
        max_watch_seconds: float | None = None,
        gone_style: str = "event",
        tls: bool = False,
    ) -> None:
        """tls=True serves HTTPS with a fresh self-signed certificate for 127.0.0.1 (needs the openssl CLI)."""
        self.token = token
        self.user = user
        self.bookmark_interval = bookmark_interval
        self.deletion_delay = deletion_delay
        self.max_watch_seconds = max_watch_seconds
        self.gone_style = gone_style
        self.mode = "ok"
        self.forbidden: set[str] = set()  # resources refused with 403 even in "ok" mode, e.g. "events"
        self.requests: list[Request] = []
        self._cond = threading.Condition()
        self._rv = 1
        self._compacted = 0
        self._expiry_epoch = 0
        self._history: list[tuple[int, str, str, dict]] = []  # (rv, collection, type, object)
        self._objects: dict[str, dict[tuple[str, str], dict]] = {"pods": {}, "nodes": {}, "events": {}}
        self._logs: dict[tuple[str, str, str], ContainerLog] = {}
        self._summaries: dict[str, dict] = {}
        self._timers: list[threading.Timer] = []
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._down_epoch = 0
        self.ca_file: Path | None = None
        self.tls_context: ssl.SSLContext | None = None
        if tls:
            self._make_certificate()
        for node in nodes:
            self.upsert_node(node)
        for pod in pods:
            self.upsert_pod(pod)
        for event in events:
            self.add_event(event)

    # -------------------------------------------------------------- lifecycle

    def _make_certificate(self) -> None:
        if shutil.which("openssl") is None:
            raise RuntimeError("tls=True needs the openssl command")
        folder = Path(tempfile.mkdtemp(prefix="fake-kube-tls-"))
        cert, key = folder / "ca.crt", folder / "server.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True,
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.ca_file, self.tls_context = cert, context

    def start(self) -> FakeKube:
        self._listen()
        return self

    def _listen(self) -> None:
        self._httpd = _Server(("127.0.0.1", self._port), _Handler, self)
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-kube", daemon=True)
        self._thread.start()

    def _unlisten(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with self._cond:
            self._down_epoch += 1
            self._cond.notify_all()
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._unlisten()
        if self.ca_file is not None:
            shutil.rmtree(self.ca_file.parent, ignore_errors=True)

    def __enter__(self) -> FakeKube:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        scheme = "https" if self.tls_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self._port}"

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        previous, self.mode = self.mode, mode
        if mode == "down" and previous != "down":
            self._unlisten()
        elif mode != "down" and previous == "down":
            self._listen()

    def write_kubeconfig(
        self,
        path: str | Path,
        *,
        context: str = "fake",
        cluster: str = "fake-cluster",
        user: str = "fake-user",
        token: str | None = None,
        namespace: str | None = None,
        extra_contexts: dict[str, str] | None = None,
    ) -> Path:
        """A kubeconfig pointing at this server with a bearer token. extra_contexts: {name: server url}."""
        import yaml

        server: dict[str, Any] = {"server": self.url}
        if self.ca_file is not None:
            server["certificate-authority-data"] = base64.b64encode(self.ca_file.read_bytes()).decode()
        clusters = [{"name": cluster, "cluster": server}]
        entry = {"cluster": cluster, "user": user, **({"namespace": namespace} if namespace else {})}
        contexts = [{"name": context, "context": entry}]
        for name, server in (extra_contexts or {}).items():
            clusters.append({"name": f"{name}-cluster", "cluster": {"server": server}})
            contexts.append({"name": name, "context": {"cluster": f"{name}-cluster", "user": user}})
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": clusters,
            "contexts": contexts,
            "users": [{"name": user, "user": {"token": token or self.token}}],
            "current-context": context,
        }
        path = Path(path)
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    # -------------------------------------------------------------- state

    @property
    def resource_version(self) -> int:
        with self._cond:
            return self._rv

    def _record(self, request: Request) -> None:
        with self._cond:
            self.requests.append(request)

    def _change(self, collection: str, kind: str, obj: dict) -> dict:
        """Store a change under the next resourceVersion and wake the watches. Call with _cond held."""
        self._rv += 1
        obj = copy.deepcopy(obj)
        obj.setdefault("metadata", {})["resourceVersion"] = str(self._rv)
        key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if kind == "DELETED":
            self._objects[collection].pop(key, None)
        else:
            self._objects[collection][key] = obj
        self._history.append((self._rv, collection, kind, obj))
        self._cond.notify_all()
        return copy.deepcopy(obj)

    def upsert_pod(self, pod: dict) -> dict:
        """Add or replace a pod (by namespace/name); watchers get ADDED or MODIFIED."""
        with self._cond:
            md = pod.setdefault("metadata", {})
            md.setdefault("uid", stable_uid(md.get("namespace", ""), md["name"]))
            md.setdefault("creationTimestamp", ts(datetime.now(timezone.utc)))
            key = (md.get("namespace", ""), md["name"])
            kind = "MODIFIED" if key in self._objects["pods"] else "ADDED"
            return self._change("pods", kind, pod)

    def get_pod(self, namespace: str, name: str) -> dict | None:
        with self._cond:
            pod = self._objects["pods"].get((namespace, name))
            return copy.deepcopy(pod) if pod else None

    def pods(self) -> list[dict]:
        with self._cond:
            return [copy.deepcopy(p) for p in self._objects["pods"].values()]

    def delete_pod(self, namespace: str, name: str) -> bool:
        """Remove a pod at once (as after its grace period); watchers get DELETED."""
        with self._cond:
            pod = self._objects["pods"].get((namespace, name))
            if pod is None:
                return False
            self._change("pods", "DELETED", pod)
            return True

    def upsert_node(self, node: dict) -> dict:
        with self._cond:
            key = ("", node["metadata"]["name"])
            kind = "MODIFIED" if key in self._objects["nodes"] else "ADDED"
            return self._change("nodes", kind, node)

    def add_event(self, event: dict) -> dict:
        with self._cond:
            return self._change("events", "ADDED", event)

    def expire_resource_versions(self) -> None:
        """Forget the history: every version given out so far is now too old (410 Gone)."""
        with self._cond:
            self._rv += 1
            self._compacted = self._rv
            self._history.clear()
            self._expiry_epoch += 1
            self._cond.notify_all()

    def set_logs(self, namespace: str, pod: str, container_name: str, lines: list[str | bytes], *,
                 previous: list[str] | None = None, start: float | None = None, step: float = 1.0) -> None:
        """Replace a container's log; line i is stamped start + i*step (default: ending now)."""
        now = time.time()
        start = now - step * len(lines) if start is None else start
        with self._cond:
            self._logs[(namespace, pod, container_name)] = ContainerLog(
                [LogLine(start + i * step, text) for i, text in enumerate(lines)],
                None if previous is None else [LogLine(start - 3600 + i, t) for i, t in enumerate(previous)],
            )
            self._cond.notify_all()

    def append_log(self, namespace: str, pod: str, container_name: str, *lines: str | bytes) -> None:
        with self._cond:
            log = self._logs.setdefault((namespace, pod, container_name), ContainerLog([]))
            log.lines.extend(LogLine(time.time(), text) for text in lines)
            self._cond.notify_all()

    def set_summary(self, node: str, summary: dict) -> None:
        with self._cond:
            self._summaries[node] = copy.deepcopy(summary)

    # -------------------------------------------------------------- routing

    def _route(self, h: _Handler, method: str, path: str, query: dict[str, str], body: dict) -> None:
        parts = [p for p in path.split("/") if p]
        if method == "GET" and path == "/version":
            h._send_json(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.2-fake", "platform": "linux/amd64"})
            return
        if method == "GET" and path == "/api":
            h._send_json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self._port}"}]})
            return
        if method == "GET" and path == "/api/v1":
            h._send_json(200, _API_RESOURCES)
            return
        if parts[:2] != ["api", "v1"]:
            h._send_status(404, "NotFound", "the server could not find the requested resource")
            return
        rest = parts[2:]
        namespace = ""
        if len(rest) >= 2 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest:
            h._send_status(404, "NotFound", "the server could not find the requested resource")
            return
        resource = rest[0] if len(rest) < 3 else f"{rest[0]}/{rest[2]}"
        verb = {"GET": "get" if len(rest) >= 2 else ("watch" if _true(query.get("watch")) else "list"),
                "DELETE": "delete"}[method]
        if self.mode == "403" or resource.split("/")[0] in self.forbidden or resource in self.forbidden:
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            h._send_status(403, "Forbidden", f'{resource.split("/")[0]} is forbidden: User "{self.user}" cannot '
                                            f'{verb} resource "{rest[0]}" in API group "" {scope}'
                                            + (f': subresource "{rest[2]}"' if len(rest) >= 3 else ""))
            return
        collection = rest[0]
        if collection not in ("pods", "nodes", "events"):
            h._send_status(404, "NotFound", "the server could not find the requested resource")
            return
        if len(rest) == 1 and method == "GET":
            if _true(query.get("watch")):
                self._watch(h, collection, namespace, query)
            else:
                self._list(h, collection, namespace, query)
            return
        name = rest[1] if len(rest) >= 2 else ""
        if collection == "pods" and len(rest) == 2 and method == "DELETE":
            self._delete(h, namespace, name, query, body)
            return
        if len(rest) == 2 and method == "GET":
            with self._cond:
                obj = self._objects[collection].get((namespace, name))
                obj = copy.deepcopy(obj) if obj else None
            if obj is None:
                h._send_status(404, "NotFound", f'{collection} "{name}" not found')
            else:
                h._send_json(200, obj)
            return
        if collection == "pods" and rest[2:] == ["log"] and method == "GET":
            self._log(h, namespace, name, query)
            return
        if collection == "nodes" and rest[2:4] == ["proxy", "stats"] and rest[4:] == ["summary"] and method == "GET":
            self._summary(h, name)
            return
        h._send_status(404, "NotFound", "the server could not find the requested resource")

    def _selected(self, collection: str, namespace: str, query: dict[str, str], obj: dict) -> bool:
        if namespace and obj.get("metadata", {}).get("namespace") != namespace:
            return False
        if query.get("fieldSelector") and not field_selector_matches(obj, query["fieldSelector"]):
            return False
        labels = obj.get("metadata", {}).get("labels") or {}
        if query.get("labelSelector") and not label_selector_matches(labels, query["labelSelector"]):
            return False
        return True

    def _list(self, h: _Handler, collection: str, namespace: str, query: dict[str, str]) -> None:
        with self._cond:
            asked = query.get("resourceVersion")
            if asked and query.get("resourceVersionMatch") == "Exact" and int(asked) < self._compacted:
                h._send_json(410, _gone(int(asked), self._compacted))
                return
            try:
                items = [copy.deepcopy(o) for o in self._objects[collection].values()
                         if self._selected(collection, namespace, query, o)]
            except ValueError as e:
                h._send_status(400, "BadRequest", str(e))
                return
            rv = self._rv
        kind = {"pods": "PodList", "nodes": "NodeList", "events": "EventList"}[collection]
        h._send_json(200, {"kind": kind, "apiVersion": "v1", "metadata": {"resourceVersion": str(rv)}, "items": items})

    def _watch(self, h: _Handler, collection: str, namespace: str, query: dict[str, str]) -> None:
        bookmarks = _true(query.get("allowWatchBookmarks"))
        timeout = float(query.get("timeoutSeconds") or 1800)
        if self.max_watch_seconds is not None:
            timeout = min(timeout, self.max_watch_seconds)
        deadline = time.monotonic() + timeout
        singular = {"pods": "Pod", "nodes": "Node", "events": "Event"}[collection]
        with self._cond:
            asked = query.get("resourceVersion") or ""
            start = int(asked) if asked not in ("", "0") else None
            if start is not None and start < self._compacted and self.gone_style == "http":
                h._send_json(410, _gone(start, self._compacted))
                return
            down_epoch, expiry_epoch = self._down_epoch, self._expiry_epoch
            initial: list[tuple[str, dict]] = []
            if start is None:  # no version: the current objects first, as ADDED
                initial = [("ADDED", copy.deepcopy(o)) for o in self._objects[collection].values()
                           if self._selected(collection, namespace, query, o)]
                cursor = self._rv
            else:
                cursor = start
            too_old = start is not None and start < self._compacted
        h._start_chunked("application/json")
        for kind, obj in initial:
            h._chunk(json.dumps({"type": kind, "object": obj}).encode() + b"\n")
        if too_old:
            h._chunk(json.dumps({"type": "ERROR", "object": _gone(start, self._compacted)}).encode() + b"\n")
            h._end_chunked()
            return
        last_bookmark = time.monotonic()
        while True:
            with self._cond:
                pending = [(kind, obj) for rv, coll, kind, obj in self._history
                           if rv > cursor and coll == collection and self._selected(collection, namespace, query, obj)]
                expired = self._expiry_epoch != expiry_epoch
                cut = self._down_epoch != down_epoch
                now = time.monotonic()
                if not pending and not expired and not cut and now < deadline and not (
                        bookmarks and now - last_bookmark >= self.bookmark_interval):
                    wait = deadline - now
                    if bookmarks:
                        wait = min(wait, self.bookmark_interval - (now - last_bookmark))
                    self._cond.wait(max(0.01, wait))
                    continue
                cursor = current = self._rv  # everything up to here has been looked at
                compacted = self._compacted
            if cut:
                return  # the connection is being torn down
            for kind, obj in pending:
                h._chunk(json.dumps({"type": kind, "object": copy.deepcopy(obj)}).encode() + b"\n")
            if expired:
                h._chunk(json.dumps({"type": "ERROR", "object": _gone(cursor, compacted)}).encode() + b"\n")
                break
            now = time.monotonic()
            if now >= deadline:
                break
            if bookmarks and now - last_bookmark >= self.bookmark_interval:
                h._chunk(json.dumps({"type": "BOOKMARK", "object": {
                    "kind": singular, "apiVersion": "v1",
                    "metadata": {"resourceVersion": str(current)}}}).encode() + b"\n")
                last_bookmark = now
        h._end_chunked()

    def _delete(self, h: _Handler, namespace: str, name: str, query: dict[str, str], body: dict) -> None:
        with self._cond:
            pod = self._objects["pods"].get((namespace, name))
            if pod is None:
                h._send_status(404, "NotFound", f'pods "{name}" not found')
                return
            want_uid = (body.get("preconditions") or {}).get("uid")
            if want_uid and want_uid != pod["metadata"]["uid"]:
                h._send_status(409, "Conflict", f'Operation cannot be fulfilled on Pod "{name}": Precondition failed: '
                                                f'UID in precondition: {want_uid}, UID in object meta: {pod["metadata"]["uid"]}')
                return
            grace = body.get("gracePeriodSeconds", query.get("gracePeriodSeconds"))
            grace = int(grace) if grace not in (None, "") else int(pod["spec"].get("terminationGracePeriodSeconds", 30))
            if grace <= 0:
                gone = self._change("pods", "DELETED", pod)
                h._send_json(200, gone)
                return
            marked = copy.deepcopy(pod)
            if "deletionTimestamp" not in marked["metadata"]:
                marked["metadata"]["deletionTimestamp"] = ts(datetime.now(timezone.utc) + timedelta(seconds=grace))
            marked["metadata"]["deletionGracePeriodSeconds"] = grace
            marked = self._change("pods", "MODIFIED", marked)
            uid = marked["metadata"]["uid"]
        timer = threading.Timer(min(grace, self.deletion_delay), self._finish_delete, (namespace, name, uid))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()
        h._send_json(202, marked)

    def _finish_delete(self, namespace: str, name: str, uid: str) -> None:
        with self._cond:
            pod = self._objects["pods"].get((namespace, name))
            if pod is not None and pod["metadata"]["uid"] == uid:
                self._change("pods", "DELETED", pod)

    def _log(self, h: _Handler, namespace: str, name: str, query: dict[str, str]) -> None:
        with self._cond:
            pod = self._objects["pods"].get((namespace, name))
            if pod is None:
                h._send_status(404, "NotFound", f'pods "{name}" not found')
                return
            names = [c["name"] for c in pod["spec"].get("containers", [])]
            all_names = names + [c["name"] for c in pod["spec"].get("initContainers", [])]
            wanted = query.get("container") or ""
            if not wanted:
                if len(names) != 1:
                    h._send_status(400, "BadRequest", f"a container name must be specified for pod {name}, "
                                                      f"choose one of: [{' '.join(names)}]")
                    return
                wanted = names[0]
            if wanted not in all_names:
                h._send_status(400, "BadRequest", f"container {wanted} is not valid for pod {name}")
                return
            log = self._logs.get((namespace, name, wanted), ContainerLog([]))
            previous = _true(query.get("previous"))
            if previous and log.previous is None:
                h._send_status(400, "BadRequest",
                               f'previous terminated container "{wanted}" in pod "{name}" not found')
                return
            lines = list(log.previous if previous else log.lines)
            sent = len(log.lines)  # counted with the snapshot: lines appended while it is sent are followed
            uid = pod["metadata"]["uid"]
        if query.get("sinceSeconds"):
            cutoff = time.time() - int(query["sinceSeconds"])
            lines = [line for line in lines if line.at >= cutoff]
        if query.get("tailLines"):
            lines = lines[-int(query["tailLines"]):] if int(query["tailLines"]) > 0 else []
        stamps = _true(query.get("timestamps"))

        def render(batch: list[LogLine]) -> bytes:
            out = []
            for line in batch:
                prefix = datetime.fromtimestamp(line.at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ ") if stamps else ""
                text = line.text if isinstance(line.text, bytes) else line.text.encode()
                out.append(prefix.encode() + text + b"\n")
            return b"".join(out)

        follow = _true(query.get("follow")) and not previous
        h._start_chunked("text/plain")
        h._chunk(render(lines))
        if follow:
            with self._cond:
                down_epoch = self._down_epoch
            deadline = time.monotonic() + (self.max_watch_seconds or 600)
            while time.monotonic() < deadline:
                with self._cond:
                    current = self._objects["pods"].get((namespace, name))
                    if current is None or current["metadata"]["uid"] != uid or self._down_epoch != down_epoch:
                        break
                    fresh = log.lines[sent:]
                    if not fresh:
                        self._cond.wait(0.2)
                        continue
                    sent = len(log.lines)
                h._chunk(render(fresh))
        h._end_chunked()

    def _summary(self, h: _Handler, node: str) -> None:
        with self._cond:
            if ("", node) not in self._objects["nodes"]:
                h._send_status(404, "NotFound", f'nodes "{node}" not found')
                return
            summary = self._summaries.get(node)
            if summary is None:
                pods = [{"namespace": p["metadata"]["namespace"], "name": p["metadata"]["name"],
                         "uid": p["metadata"]["uid"],
                         "containers": [{"name": c["name"], "nanocores": 0, "working_set": 0}
                                        for c in p["spec"].get("containers", [])]}
                        for p in self._objects["pods"].values() if p["spec"].get("nodeName") == node]
                summary = summary_manifest(node, pods)
        h._send_json(200, summary)


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")


def _gone(asked: int, oldest: int) -> dict:
    return status_body(410, "Expired", f"too old resource version: {asked} ({oldest})")


_API_RESOURCES = {
    "kind": "APIResourceList",
    "groupVersion": "v1",
    "resources": [
        {"name": "events", "singularName": "event", "namespaced": True, "kind": "Event",
         "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": ["ev"]},
        {"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace",
         "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": ["ns"]},
        {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node",
         "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": ["no"]},
        {"name": "nodes/proxy", "singularName": "", "namespaced": False, "kind": "NodeProxyOptions",
         "verbs": ["create", "delete", "get", "patch", "update"]},
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
         "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
         "shortNames": ["po"], "categories": ["all"]},
        {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]},
    ],
}
