"""Which API server to talk to, and as whom: kubectl's search order, plus the kubelet's own kubeconfig.

Order: an explicit kubeconfig path; else $KUBECONFIG (files joined with ':', missing files skipped);
else ~/.kube/config; else the in-cluster service account (KUBERNETES_SERVICE_HOST/PORT + token
file); else, on a node, the kubelet's kubeconfig (/etc/kubernetes/kubelet.conf) when readable.

Kubeconfig files merge like kubectl: for clusters, contexts and users the first file that names an
entry wins, and the current-context is the first one set (the Python client would take the last
one, so we pick the context ourselves and hand it to the client explicitly).

The result, `KubeTarget`, describes the choice without any secret: no token, password or key
material is ever stored in it, so its repr and str are safe to log and show.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from n9s.sources.errors import SourceError

DEFAULT_KUBELET_KUBECONFIG = "/etc/kubernetes/kubelet.conf"
DEFAULT_SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

SOURCE_EXPLICIT = "explicit"  # --kubeconfig PATH
SOURCE_ENV = "KUBECONFIG"
SOURCE_HOME = "home"  # ~/.kube/config
SOURCE_IN_CLUSTER = "in-cluster"
SOURCE_KUBELET = "kubelet"


class NotConfigured(SourceError):
    """No kubeconfig, no service account, no kubelet kubeconfig: n9s runs without the API."""

    source = "kube"


class ConfigInvalid(SourceError):
    """A kubeconfig was found but cannot be used (unreadable, bad YAML, unknown context...)."""

    source = "kube"


@dataclass(frozen=True)
class KubeTarget:
    """The API server chosen and the identity used, without secrets."""

    source: str  # one of the SOURCE_* names
    server: str  # URL, any user:password@ part removed
    context: str | None
    cluster: str | None
    user: str | None  # the kubeconfig user entry's name ("service-account" in-cluster)
    namespace: str
    auth: str  # the kind of credential only: token, token-file, client-certificate, exec, ...
    insecure: bool  # insecure-skip-tls-verify
    files: tuple[str, ...] = ()  # kubeconfig files read, in merge order
    token_file: str | None = None  # in-cluster: path of the service-account token (the path, not the token)
    ca_file: str | None = None

    def describe(self) -> str:
        """One line for the header or the about screen."""
        if self.source == SOURCE_IN_CLUSTER:
            where = "in-cluster service account"
        else:
            where = "kubeconfig " + ":".join(self.files)
        who = ", ".join(p for p in (f"context {self.context}" if self.context else "",
                                    f"user {self.user}" if self.user else "") if p)
        return f"{where} ({who}) -> {self.server}" if who else f"{where} -> {self.server}"


def _strip_userinfo(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("@")[-1]
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _named(entries: Any) -> list[tuple[str, dict]]:
    out = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            out.append((entry["name"], entry))
    return out


def _read_kubeconfig(path: str) -> dict:
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except PermissionError:
        raise ConfigInvalid(f"cannot read kubeconfig {path}: permission denied") from None
    except OSError as e:
        raise ConfigInvalid(f"cannot read kubeconfig {path}: {e.strerror or e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigInvalid(f"kubeconfig {path} is not valid YAML{where}") from None
    if data is None:
        raise ConfigInvalid(f"kubeconfig {path} is empty")
    if not isinstance(data, dict):
        raise ConfigInvalid(f"kubeconfig {path} is not a kubeconfig (expected a mapping)")
    return data


def _auth_kind(user: dict) -> str:
    if not user:
        return "none"
    for key, kind in (
        ("auth-provider", "auth-provider"),
        ("token", "token"),
        ("tokenFile", "token-file"),
        ("exec", "exec"),
        ("client-certificate", "client-certificate"),
        ("client-certificate-data", "client-certificate"),
        ("username", "basic"),
    ):
        if user.get(key):
            return kind
    return "none"


def _describe_kubeconfig(source: str, files: list[str], context: str | None) -> KubeTarget:
    """Merge the files kubectl-style and describe the chosen context (raises ConfigInvalid)."""
    clusters: dict[str, dict] = {}
    contexts: dict[str, dict] = {}
    users: dict[str, dict] = {}
    current = ""
    for path in files:
        data = _read_kubeconfig(path)
        for table, key in ((clusters, "clusters"), (contexts, "contexts"), (users, "users")):
            for name, entry in _named(data.get(key)):
                table.setdefault(name, entry)
        if not current and isinstance(data.get("current-context"), str):
            current = data["current-context"]
    shown = ":".join(files)
    name = context or current
    if not name:
        available = ", ".join(sorted(contexts)) or "none"
        raise ConfigInvalid(f"kubeconfig {shown} has no current-context", hint=f"pass --context (available: {available})")
    if name not in contexts:
        available = ", ".join(sorted(contexts)) or "none"
        raise ConfigInvalid(f"context {name!r} not found in kubeconfig {shown}", hint=f"available: {available}")
    ctx = found if isinstance(found := contexts[name].get("context"), dict) else {}
    cluster_name = ctx.get("cluster") if isinstance(ctx.get("cluster"), str) else ""
    if cluster_name not in clusters:
        raise ConfigInvalid(f"context {name!r} names cluster {cluster_name!r}, which kubeconfig {shown} does not define")
    cluster = found if isinstance(found := clusters[cluster_name].get("cluster"), dict) else {}
    server = cluster.get("server") if isinstance(cluster.get("server"), str) else ""
    if not server:
        raise ConfigInvalid(f"cluster {cluster_name!r} in kubeconfig {shown} has no server URL")
    user_name = ctx.get("user") if isinstance(ctx.get("user"), str) else None
    user_entry = users.get(user_name or "", {})
    user = found if isinstance(found := user_entry.get("user"), dict) else {}
    namespace = ctx.get("namespace") if isinstance(ctx.get("namespace"), str) else ""
    return KubeTarget(
        source=source,
        server=_strip_userinfo(server.rstrip("/")),
        context=name,
        cluster=cluster_name,
        user=user_name,
        namespace=namespace or "default",
        auth=_auth_kind(user),
        insecure=cluster.get("insecure-skip-tls-verify") is True,
        files=tuple(files),
    )


def _readable(path: str) -> bool:
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False


def _in_cluster(env: Mapping[str, str], sa_dir: str) -> KubeTarget | None:
    host = env.get("KUBERNETES_SERVICE_HOST", "")
    port = env.get("KUBERNETES_SERVICE_PORT", "")
    token_file = os.path.join(sa_dir, "token")
    if not host or not port or not os.path.isfile(token_file):
        return None
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    namespace = ""
    try:
        namespace = Path(sa_dir, "namespace").read_text(encoding="utf-8").strip()
    except OSError:
        pass
    return KubeTarget(
        source=SOURCE_IN_CLUSTER,
        server=f"https://{host}:{port}",
        context=None,
        cluster=None,
        user="service-account",
        namespace=namespace or "default",
        auth="service-account-token",
        insecure=False,
        token_file=token_file,
        ca_file=os.path.join(sa_dir, "ca.crt"),
    )


def resolve_target(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    home: str | Path | None = None,
    kubelet_kubeconfig: str | None = DEFAULT_KUBELET_KUBECONFIG,
    service_account_dir: str = DEFAULT_SERVICE_ACCOUNT_DIR,
) -> KubeTarget:
    """Find the API server the way kubectl would; raise NotConfigured or ConfigInvalid.

    `env`, `home`, `kubelet_kubeconfig` and `service_account_dir` exist so tests can point
    the search somewhere else; by default they are the process environment and the real paths.
    A `context` given explicitly applies to kubeconfig files; it rules out the in-cluster account.
    """
    env = os.environ if env is None else env
    home_dir = Path(home) if home is not None else Path(os.path.expanduser("~"))

    if kubeconfig:
        path = os.path.expanduser(kubeconfig)
        if not os.path.exists(path):
            raise ConfigInvalid(f"kubeconfig {path} does not exist")
        return _describe_kubeconfig(SOURCE_EXPLICIT, [path], context)

    listed = env.get("KUBECONFIG", "")
    if listed:
        files = [os.path.expanduser(p) for p in listed.split(os.pathsep) if p]
        existing = list(dict.fromkeys(p for p in files if os.path.exists(p)))
        if existing:
            return _describe_kubeconfig(SOURCE_ENV, existing, context)
    else:
        home_config = home_dir / ".kube" / "config"
        if home_config.exists():
            return _describe_kubeconfig(SOURCE_HOME, [str(home_config)], context)

    if not context:
        target = _in_cluster(env, service_account_dir)
        if target is not None:
            return target

    if kubelet_kubeconfig and _readable(kubelet_kubeconfig):
        return _describe_kubeconfig(SOURCE_KUBELET, [kubelet_kubeconfig], context)

    looked = ["$KUBECONFIG" if listed else "~/.kube/config"]
    if not context:
        looked.append("in-cluster service account")
    if kubelet_kubeconfig:
        looked.append(kubelet_kubeconfig)
    raise NotConfigured("no kubeconfig found", hint="looked at " + ", ".join(looked) + "; pass --kubeconfig")


def build_configuration(target: KubeTarget, *, env: Mapping[str, str] | None = None):
    """A kubernetes.client.Configuration for the target (imports the kubernetes package here, lazily)."""
    from kubernetes.client import Configuration
    from kubernetes.config.config_exception import ConfigException

    configuration = Configuration()
    try:
        if target.source == SOURCE_IN_CLUSTER:
            from kubernetes.config.incluster_config import InClusterConfigLoader

            InClusterConfigLoader(
                token_filename=target.token_file,
                cert_filename=target.ca_file,
                environ=dict(os.environ if env is None else env),
            ).load_and_set(configuration)
        else:
            from kubernetes.config.kube_config import load_kube_config

            load_kube_config(
                config_file=os.pathsep.join(target.files),
                context=target.context,
                client_configuration=configuration,
                persist_config=False,  # never write back into the user's kubeconfig
            )
    except ConfigException as e:
        raise ConfigInvalid(f"kubeconfig cannot be used: {_first_line(str(e))}") from None
    except OSError as e:
        raise ConfigInvalid(f"kubeconfig cannot be used: {e.strerror or e}") from None
    return configuration


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else "unknown error"
