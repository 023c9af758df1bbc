"""The Kubernetes API as n9s needs it: this node's pods, the Node, events, logs, delete, kubelet stats.

Transport, TLS and authentication come from the `kubernetes` client, imported lazily (its cost is in
docs/benchmarks.md). We call its ApiClient with raw JSON in and out instead of the generated CoreV1Api, whose
imports and model objects are slow, while n9s wants the raw manifest anyway (for the YAML view) and converts to
its own dataclasses (`n9s.sources.kube.objects`).

Every call reports to a HealthTracker, so the header can say "API: unreachable since 12:03:55".
Errors are n9s.sources.errors classes with short messages that never carry credentials.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from n9s.sources.errors import CallFailed, NotAnswering, NotFound, SourceError, Unreachable
from n9s.sources.kube.config import ConfigInvalid, KubeTarget, build_configuration, resolve_target
from n9s.sources.kube.health import ApiHealth, Forbidden, HealthTracker, NotJson, Unauthorized
from n9s.sources.kube.objects import (
    ApiEvent,
    ApiNode,
    ApiPod,
    NodeSummary,
    event_from_manifest,
    newest_first,
    node_from_manifest,
    pod_from_manifest,
    summary_from_json,
)

log = logging.getLogger("n9s.kube")


class Expired(SourceError):
    """410 Gone: the resourceVersion we asked for is no longer kept; relist."""


class Conflict(CallFailed):
    """409: e.g. the pod was replaced by another one with the same name."""


@dataclass(frozen=True)
class PodList:
    pods: tuple[ApiPod, ...]
    resource_version: str


@dataclass(frozen=True)
class DeleteResult:
    """`pod` is the pod as it is now (deletionTimestamp set) when it is still terminating."""

    namespace: str
    name: str
    gone: bool
    pod: ApiPod | None


@dataclass(frozen=True)
class NodeChoice:
    name: str
    how: str  # "--node", "NODE_NAME", "hostname", "short hostname", "hostname label", "... (not verified)"


def _status_message(body: bytes) -> tuple[str, str]:
    """(message, reason) of a Kubernetes Status body, or ("", "")."""
    try:
        status = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "", ""
    if not isinstance(status, dict):
        return "", ""
    message = found if isinstance(found := status.get("message"), str) else ""
    reason = found if isinstance(found := status.get("reason"), str) else ""
    return message, reason


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else "unknown error"


def _network_cause(exc: BaseException | None) -> str:
    """A short reason for a failed connection, from urllib3's nested exceptions."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused"
        if isinstance(exc, (socket.timeout, TimeoutError)):
            return "timed out"
        if isinstance(exc, socket.gaierror):
            return "host name not resolved"
        name = type(exc).__name__
        if "Timeout" in name:
            return "timed out"
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return "TLS certificate not trusted"
        if "SSL" in name:
            return "TLS error"
        if "NameResolution" in name:
            return "host name not resolved"
        if name == "NewConnectionError" and "refused" in str(exc).lower():
            return "connection refused"
        nxt = getattr(exc, "reason", None)
        if isinstance(nxt, str) and "SSL" in nxt:  # the client wraps TLS failures in ApiException(status=0)
            return "TLS certificate not trusted" if "CERTIFICATE_VERIFY_FAILED" in nxt else "TLS error"
        if isinstance(nxt, BaseException):
            exc = nxt
            continue
        exc = exc.__cause__ or exc.__context__
    return "connection failed"


def _retry_policy() -> Any:
    """One retry for a connection that broke, none for a request the server took and did not answer: a timed-out
    request sent again only doubles the wait before "not answering" can be said."""
    from urllib3.exceptions import MaxRetryError, ReadTimeoutError
    from urllib3.util.retry import Retry

    class OnceUnlessSilent(Retry):
        def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
            if isinstance(error, ReadTimeoutError):
                raise MaxRetryError(_pool, url or "", error) from error
            return super().increment(method, url, response, error, _pool, _stacktrace)

    return OnceUnlessSilent(total=1, connect=1, read=1, status=0, redirect=0, other=0)


class LogStream:
    """Lines of a container log as they arrive; iterate it, close it from any thread to stop."""

    def __init__(self, response, describe: str) -> None:
        self._response = response
        self._describe = describe
        self._closed = False

    def __iter__(self) -> Iterator[str]:
        pending = b""
        try:
            for chunk in self._response.stream(65536, decode_content=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.decode("utf-8", errors="replace")
            if pending:
                yield pending.decode("utf-8", errors="replace")
        except Exception as e:  # urllib3 ProtocolError, OSError after close(), ...
            if not self._closed:
                raise Unreachable(f"log stream of {self._describe} broke off: {_network_cause(e)}") from None
        finally:
            self._release()

    def close(self) -> None:
        """Stop the stream; a thread blocked reading it wakes up and its loop ends."""
        self._closed = True
        _shutdown(self._response)
        self._release()

    def _release(self) -> None:
        try:
            self._response.release_conn()
        except Exception:
            pass

    def __enter__(self) -> LogStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _shutdown(response) -> None:
    """Wake a thread blocked reading `response` by shutting its socket down."""
    try:
        conn = getattr(response, "connection", None) or getattr(response, "_connection", None)
        sock = getattr(conn, "sock", None)
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):
        pass
    try:
        response.close()
    except Exception:
        pass


class WatchStream:
    """Decoded watch events ({"type", "object"}) of one watch request; close() stops it from any thread."""

    def __init__(self, response, client: KubeClient, action: str) -> None:
        self._response = response
        self._client = client
        self._action = action
        self._closed = False

    def __iter__(self) -> Iterator[dict]:
        pending = b""
        try:
            for chunk in self._response.stream(65536, decode_content=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield self._decode(line)
            if pending.strip():
                yield self._decode(pending)
        except SourceError:
            raise
        except Exception as e:
            if not self._closed:
                cause = _network_cause(e)
                text = f"{self._action} broke off: {cause} ({self._client.target.server})"
                err = NotAnswering(text) if cause == "timed out" else Unreachable(text)
                self._client.health_tracker.failed(err, core=True)
                raise err from None
        finally:
            try:
                self._response.release_conn()
            except Exception:
                pass

    def _decode(self, line: bytes) -> dict:
        try:
            event = json.loads(line)
        except ValueError:
            err = self._client.not_json(self._response, f"{self._action}: the server sent a watch event that is not "
                                        "JSON")
            self._client.health_tracker.failed(err, core=True)
            raise err from None
        if not isinstance(event, dict):
            raise CallFailed("the API server sent a watch event that is not an object")
        return event

    def close(self) -> None:
        self._closed = True
        _shutdown(self._response)


class KubeClient:
    """One API server connection. Thread-safe: the watcher and the action layer can share it."""

    def __init__(
        self,
        target: KubeTarget,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 20.0,
        health: HealthTracker | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.target = target
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.health_tracker = health or HealthTracker()
        self._env = env
        self._api: Any = None  # kubernetes.client.ApiClient, made on first use
        self._api_lock = threading.Lock()

    @classmethod
    def from_config(cls, kubeconfig: str | None = None, context: str | None = None, **options: Any) -> KubeClient:
        """resolve_target() then a client; raises NotConfigured / ConfigInvalid (see ApiHealth.not_configured)."""
        resolve_keys = ("env", "home", "kubelet_kubeconfig", "service_account_dir")
        resolve = {k: options.pop(k) for k in resolve_keys if k in options}
        target = resolve_target(kubeconfig, context, **resolve)
        return cls(target, env=resolve.get("env"), **options)

    def __repr__(self) -> str:
        return f"KubeClient({self.target.describe()})"

    @property
    def health(self) -> ApiHealth:
        return self.health_tracker.current

    def close(self) -> None:
        with self._api_lock:
            if self._api is not None:
                self._api.rest_client.close()
                self._api = None

    # ------------------------------------------------------------ transport

    def _client(self):
        with self._api_lock:
            if self._api is None:
                from kubernetes.client import ApiClient

                configuration = build_configuration(self.target, env=self._env)
                # One quick retry covers a pooled keep-alive connection the server has closed;
                # anything more would only delay the "unreachable" verdict.
                configuration.retries = _retry_policy()
                self._api = ApiClient(configuration)
            return self._api

    def _secrets(self) -> list[str]:
        api = self._api
        if api is None:
            return []
        values = []
        for value in api.configuration.api_key.values():
            if isinstance(value, str) and value:
                values.append(value)
                values.extend(p for p in value.split() if len(p) >= 8)
        return values

    def _scrub(self, text: str) -> str:
        for secret in sorted(self._secrets(), key=len, reverse=True):
            text = text.replace(secret, "<redacted>")
        return text

    def _open(
        self,
        method: str,
        path: str,
        *,
        action: str,
        core: bool,
        path_params: dict[str, str] | None = None,
        query: list[tuple[str, Any]] | None = None,
        body: dict | None = None,
        read_timeout: float | None | str = "default",
        confirm: bool = True,
    ):
        """Send one request; return the open urllib3 response for a 2xx, raise a mapped error otherwise.
        ``confirm=False``: a 2xx does not yet count as the API answering (the caller checks the body first)."""
        try:
            api = self._client()
        except SourceError as e:
            self.health_tracker.failed(e, core=True)
            raise
        import urllib3
        from kubernetes.client.exceptions import ApiException
        from kubernetes.config.config_exception import ConfigException

        timeout = (self.connect_timeout, self.read_timeout if read_timeout == "default" else read_timeout)
        try:
            request = api.param_serialize(
                method=method,
                resource_path=path,
                path_params=path_params,
                query_params=[(k, v) for k, v in (query or []) if v is not None],
                header_params={"Accept": "application/json", "Content-Type": "application/json"},
                body=body,
                auth_settings=["BearerToken"],
            )
        except (ConfigException, OSError) as e:  # refreshing a token (exec plugin, token file) failed
            err: SourceError = ConfigInvalid(
                f"the credentials could not be refreshed: {self._scrub(_first_line(str(e)))}")
            self.health_tracker.failed(err, core=True)
            raise err from None
        started = time.monotonic()
        try:
            response = api.call_api(*request, _request_timeout=timeout).response
        except (urllib3.exceptions.HTTPError, OSError, ApiException) as e:
            cause = _network_cause(e)
            hint = "check the cluster's certificate-authority in the kubeconfig" if cause.startswith("TLS") else ""
            if cause == "timed out":
                waited = time.monotonic() - started
                err = NotAnswering(
                    f"the API server at {self.target.server} did not answer within {waited:.0f} s ({action})",
                    waited_s=waited)
            else:
                err = Unreachable(f"cannot reach the API server at {self.target.server}: {cause}", hint=hint)
            self.health_tracker.failed(err, core=core)
            raise err from None
        if 200 <= response.status < 300:
            if confirm:
                self.health_tracker.succeeded(core=core)
            return response
        try:
            data = response.read()
        except Exception:
            data = b""
        finally:
            response.release_conn()
        err = self._http_error(response.status, data, action)
        if isinstance(err, (NotFound, CallFailed)) and "html" in str((getattr(response, "headers", None) or {}).get("Content-Type") or ""):
            # A web page where an API server would send a JSON Status: the address is not an API server's.
            err = self.not_json(response, f"cannot {action}: HTTP {response.status} with a web page, not JSON")
        if isinstance(err, (Unreachable, Unauthorized, Forbidden, NotJson)):
            self.health_tracker.failed(err, core=core)
        else:
            # The server answered: the connection is fine even if this call was refused.
            self.health_tracker.succeeded(core=False)
        raise err

    def _http_error(self, status: int, body: bytes, action: str) -> SourceError:
        message, reason = _status_message(body)
        message = self._scrub(message)[:500]
        if status == 401:
            return Unauthorized("unauthorized (401): check the kubeconfig credentials", hint=message)
        if status == 403:
            return Forbidden(f"forbidden to {action}: RBAC", action=action, hint=message)
        if status == 404:
            return NotFound(message or f"not found: {action}")
        if status == 409:
            return Conflict(message or f"conflict: {action}")
        if status == 410:
            return Expired(message or "resource version too old")
        if status in (502, 503, 504):
            return Unreachable(f"API server at {self.target.server} answered {status} to {action}", hint=message)
        return CallFailed(f"cannot {action}: HTTP {status}" + (f": {message}" if message else ""))

    def not_json(self, response: Any, message: str) -> NotJson:
        headers = getattr(response, "headers", None) or {}
        content_type = str(headers.get("Content-Type") or "").split(";", 1)[0].strip()[:60]
        return NotJson(message, server=self.target.server, content_type=content_type,
                       hint="check the server address in the kubeconfig")

    def _get_json(self, path: str, *, action: str, core: bool, **kwargs: Any) -> Any:
        response = self._open("GET", path, action=action, core=core, confirm=False, **kwargs)
        try:
            data = response.read()
        except Exception as e:
            cause = _network_cause(e)
            err: SourceError = NotAnswering(f"{action} broke off: {cause}") if cause == "timed out" else \
                Unreachable(f"{action} broke off: {cause}")
            self.health_tracker.failed(err, core=core)
            raise err from None
        finally:
            response.release_conn()
        try:
            value = json.loads(data)
        except ValueError:
            err = self.not_json(response, f"cannot {action}: the answer is not JSON")
            self.health_tracker.failed(err, core=core)
            raise err from None
        self.health_tracker.succeeded(core=core)
        return value

    # ------------------------------------------------------------ reads

    def version(self, *, read_timeout: float | None = None) -> dict:
        """GET /version: {"major", "minor", "gitVersion", ...}; also a cheap reachability probe."""
        options = {} if read_timeout is None else {"read_timeout": read_timeout}
        data = self._get_json("/version", action="get the server version", core=False, **options)
        return data if isinstance(data, dict) else {}

    def list_node_pods(self, node: str) -> PodList:
        data = self._get_json(
            "/api/v1/pods",
            action="list pods",
            core=True,
            query=[("fieldSelector", f"spec.nodeName={node}")],
        )
        items = data.get("items") if isinstance(data, dict) else None
        pods = tuple(pod_from_manifest(p) for p in (items or []) if isinstance(p, dict))
        metadata = data.get("metadata") if isinstance(data, dict) else None
        rv = metadata.get("resourceVersion", "") if isinstance(metadata, dict) else ""
        return PodList(pods, str(rv or ""))

    def watch_node_pods(
        self, node: str, resource_version: str, *, timeout_seconds: int, read_timeout: float
    ) -> WatchStream:
        """A watch from `resource_version` with bookmarks; the server ends it after timeout_seconds."""
        response = self._open(
            "GET",
            "/api/v1/pods",
            action="watch pods",
            core=True,
            query=[
                ("fieldSelector", f"spec.nodeName={node}"),
                ("watch", True),
                ("resourceVersion", resource_version),
                ("allowWatchBookmarks", True),
                ("timeoutSeconds", int(timeout_seconds)),
            ],
            read_timeout=read_timeout,
        )
        return WatchStream(response, self, "watch pods")

    def get_pod(self, namespace: str, name: str) -> ApiPod:
        data = self._get_json(
            "/api/v1/namespaces/{namespace}/pods/{name}",
            path_params={"namespace": namespace, "name": name},
            action="get pods",
            core=False,
        )
        return pod_from_manifest(data)

    def get_node(self, name: str) -> ApiNode:
        data = self._get_json("/api/v1/nodes/{name}", path_params={"name": name}, action="get nodes", core=False)
        return node_from_manifest(data)

    def list_nodes(self, label_selector: str | None = None) -> list[ApiNode]:
        data = self._get_json(
            "/api/v1/nodes", action="list nodes", core=False, query=[("labelSelector", label_selector)]
        )
        items = data.get("items") if isinstance(data, dict) else None
        return [node_from_manifest(n) for n in (items or []) if isinstance(n, dict)]

    def _events(self, path: str, field_selector: str, path_params: dict | None = None) -> list[ApiEvent]:
        data = self._get_json(
            path,
            path_params=path_params,
            action="list events",
            core=False,
            query=[("fieldSelector", field_selector)],
        )
        items = data.get("items") if isinstance(data, dict) else None
        return [event_from_manifest(e) for e in (items or []) if isinstance(e, dict)]

    def node_events(self, node: str, pods: Iterable[ApiPod] = (), *, limit: int = 500) -> list[ApiEvent]:
        """Events of the Node and of the given pods (usually this node's), newest first.

        Events cannot be selected by node, so pod events are listed per namespace of those pods
        (`involvedObject.kind=Pod`) and kept when their uid is one of the pods'.
        """
        events = self._events("/api/v1/events", f"involvedObject.kind=Node,involvedObject.name={node}")
        uids_by_namespace: dict[str, set[str]] = {}
        for pod in pods:
            uids_by_namespace.setdefault(pod.namespace, set()).add(pod.uid)
        for namespace, uids in sorted(uids_by_namespace.items()):
            for event in self._events(
                "/api/v1/namespaces/{namespace}/events", "involvedObject.kind=Pod", {"namespace": namespace}
            ):
                if event.object_uid in uids:
                    events.append(event)
        return newest_first(events)[:limit]

    def pod_events(self, namespace: str, name: str, uid: str | None = None) -> list[ApiEvent]:
        selector = f"involvedObject.kind=Pod,involvedObject.name={name}"
        if uid:
            selector += f",involvedObject.uid={uid}"
        return newest_first(
            self._events("/api/v1/namespaces/{namespace}/events", selector, {"namespace": namespace})
        )

    def node_summary(self, node: str) -> NodeSummary:
        """The kubelet's stats summary through the API server's node proxy."""
        data = self._get_json(
            "/api/v1/nodes/{name}/proxy/stats/summary",
            path_params={"name": node},
            action="get nodes/proxy (kubelet stats)",
            core=False,
        )
        return summary_from_json(data if isinstance(data, dict) else {})

    # ------------------------------------------------------------ changes and streams

    def delete_pod(
        self, namespace: str, name: str, *, grace_period_seconds: int | None = None, uid: str | None = None
    ) -> DeleteResult:
        """Delete gracefully. With `uid`, refuse (Conflict) if the name now belongs to another pod."""
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if grace_period_seconds is not None:
            if grace_period_seconds < 0:
                raise ValueError("grace period must be 0 or more seconds")
            body["gracePeriodSeconds"] = int(grace_period_seconds)
        if uid:
            body["preconditions"] = {"uid": uid}
        response = self._open(
            "DELETE",
            "/api/v1/namespaces/{namespace}/pods/{name}",
            path_params={"namespace": namespace, "name": name},
            query=[("gracePeriodSeconds", body.get("gracePeriodSeconds"))],
            body=body,
            action="delete pods",
            core=False,
        )
        try:
            data = json.loads(response.read() or b"{}")
        except ValueError:
            data = {}
        finally:
            response.release_conn()
        # 202 Accepted: graceful deletion under way; 200: the pod is gone already.
        gone = response.status != 202
        pod = pod_from_manifest(data) if isinstance(data, dict) and data.get("kind") == "Pod" else None
        return DeleteResult(namespace, name, gone=gone, pod=None if gone else pod)

    def pod_logs(
        self,
        namespace: str,
        name: str,
        *,
        container: str | None = None,
        follow: bool = False,
        previous: bool = False,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        timestamps: bool = False,
    ) -> LogStream:
        """A container's log as an iterator of lines (decoded UTF-8, undecodable bytes replaced).

        The lines are the container's own output: sanitise them before they reach a terminal.
        A followed stream has no read timeout; close() it to stop.
        """
        response = self._open(
            "GET",
            "/api/v1/namespaces/{namespace}/pods/{name}/log",
            path_params={"namespace": namespace, "name": name},
            query=[
                ("container", container),
                ("follow", True if follow else None),
                ("previous", True if previous else None),
                ("tailLines", tail_lines),
                ("sinceSeconds", since_seconds),
                ("timestamps", True if timestamps else None),
            ],
            action="get pods/log",
            core=False,
            read_timeout=None if follow else "default",
        )
        what = f"{namespace}/{name}" + (f" ({container})" if container else "")
        return LogStream(response, what)

    # ------------------------------------------------------------ which node is this

    def _kubelet_identity(self) -> str:
        """The node name in a kubelet kubeconfig's user or context ("system:node:NAME[@cluster]")."""
        for value in (self.target.user, self.target.context):
            if value and value.startswith("system:node:"):
                return value[len("system:node:"):].split("@", 1)[0]
        return ""

    def resolve_node_name(
        self,
        explicit: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        hostname: str | None = None,
    ) -> NodeChoice:
        """--node, else $NODE_NAME, else this host's name checked against the API.

        The host name is tried as is, then its short form, then the node named by a kubelet
        kubeconfig's identity (system:node:NAME), then as the `kubernetes.io/hostname` label (the
        kubelet's own record of its host name). When the API cannot be asked, the host
        name is returned marked "not verified"; when it answers and nothing matches, NotFound.
        """
        if explicit:
            return NodeChoice(explicit, "--node")
        env = os.environ if env is None else env
        if env.get("NODE_NAME"):
            return NodeChoice(env["NODE_NAME"], "NODE_NAME")
        host = (hostname or socket.gethostname()).strip().lower()
        short = host.split(".", 1)[0]
        candidates = [(host, "hostname")]
        if short != host:
            candidates.append((short, "short hostname"))
        identity = self._kubelet_identity()
        if identity and identity not in (host, short):
            candidates.append((identity, "kubelet kubeconfig user"))
        try:
            for name, how in candidates:
                try:
                    return NodeChoice(self.get_node(name).name or name, how)
                except NotFound:
                    continue
            names = sorted({host, short})
            nodes = self.list_nodes(label_selector=f"kubernetes.io/hostname in ({','.join(names)})")
            if nodes:
                return NodeChoice(nodes[0].name, "hostname label")
        except NotFound:
            pass
        except SourceError as e:
            log.info("node name not verified: %s", e)
            return NodeChoice(host, "hostname (not verified)")
        raise NotFound(
            f"this host ({host}) is not a node the API server knows",
            hint="pass --node NAME or set NODE_NAME",
        )


def connect(kubeconfig: str | None = None, context: str | None = None, **options: Any) -> KubeClient:
    """Shorthand for KubeClient.from_config."""
    return KubeClient.from_config(kubeconfig, context, **options)
