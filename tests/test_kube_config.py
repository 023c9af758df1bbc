"""Finding the API server like kubectl does, and never showing a credential."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from kube_fake import FakeKube, fixtures, node_manifest, pod_manifest
from n9s.sources.errors import Unreachable
from n9s.sources.kube.client import KubeClient
from n9s.sources.kube.config import (
    SOURCE_ENV,
    SOURCE_EXPLICIT,
    SOURCE_HOME,
    SOURCE_IN_CLUSTER,
    SOURCE_KUBELET,
    ConfigInvalid,
    NotConfigured,
    build_configuration,
    resolve_target,
)
from n9s.sources.kube.health import ApiHealth

NODE = fixtures.NODE
fake_kube, kubeconfig, kube = fixtures.fake_kube, fixtures.kubeconfig, fixtures.kube  # pytest fixtures

SECRET_TOKEN = "s3cr3t-token-AAAABBBBCCCCDDDD"
SECRET_PASSWORD = "hunter2-very-secret"
SECRET_KEY_DATA = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tc2VjcmV0a2V5"


def write_config(path: Path, contexts: dict[str, str], current: str | None, users: dict | None = None) -> Path:
    """contexts: {name: server}; each context gets its own cluster and a user named after it."""
    users = users or {}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": f"{n}-cluster", "cluster": {"server": s}} for n, s in contexts.items()],
        "contexts": [{"name": n, "context": {"cluster": f"{n}-cluster", "user": f"{n}-user"}} for n in contexts],
        "users": [{"name": f"{n}-user", "user": users.get(n, {"token": f"token-{n}-0000000000"})} for n in contexts],
    }
    if current:
        config["current-context"] = current
    path.write_text(yaml.safe_dump(config))
    return path


def nowhere(tmp_path: Path, **env: str) -> dict:
    """Search options that find nothing unless a test adds it."""
    return dict(env=env, home=tmp_path / "home", kubelet_kubeconfig=str(tmp_path / "no-kubelet.conf"),
                service_account_dir=str(tmp_path / "no-sa"))


def test_explicit_path_wins(tmp_path):
    explicit = write_config(tmp_path / "explicit", {"prod": "https://prod:6443"}, "prod")
    env_file = write_config(tmp_path / "env", {"dev": "https://dev:6443"}, "dev")
    target = resolve_target(str(explicit), **nowhere(tmp_path, KUBECONFIG=str(env_file)))
    assert (target.source, target.context, target.server, target.user) == (
        SOURCE_EXPLICIT, "prod", "https://prod:6443", "prod-user")
    assert str(explicit) in target.describe() and "context prod" in target.describe()


def test_explicit_path_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(ConfigInvalid, match="does not exist"):
        resolve_target(str(tmp_path / "missing"), **nowhere(tmp_path))


def test_kubeconfig_env_merges_two_files_first_wins(tmp_path):
    first = write_config(tmp_path / "a", {"alpha": "https://alpha:6443", "shared": "https://first:6443"}, "alpha")
    second = write_config(tmp_path / "b", {"beta": "https://beta:6443", "shared": "https://second:6443"}, "beta")
    listed = f"{first}:{tmp_path / 'missing'}:{second}"
    target = resolve_target(**nowhere(tmp_path, KUBECONFIG=listed))
    # kubectl: the first file that sets current-context decides, and missing files are skipped
    assert (target.source, target.context, target.server) == (SOURCE_ENV, "alpha", "https://alpha:6443")
    assert target.files == (str(first), str(second))
    assert resolve_target(context="beta", **nowhere(tmp_path, KUBECONFIG=listed)).server == "https://beta:6443"
    # an entry defined in both files comes from the first one
    assert resolve_target(context="shared", **nowhere(tmp_path, KUBECONFIG=listed)).server == "https://first:6443"


def test_kubeconfig_env_context_reaches_the_server_through_the_real_client(fake_kube, tmp_path):
    dead = write_config(tmp_path / "a", {"dead": "http://127.0.0.1:9"}, "dead")
    live = fake_kube.write_kubeconfig(tmp_path / "b", context="live")
    client = KubeClient.from_config(context="live", connect_timeout=1.0,
                                    **nowhere(tmp_path, KUBECONFIG=f"{dead}:{live}"))
    assert client.target.server == fake_kube.url
    assert [p.name for p in client.list_node_pods(NODE).pods] == ["web", "crash"]
    assert client.health.ok
    client.close()


def test_unknown_context_lists_the_known_ones(tmp_path):
    path = write_config(tmp_path / "c", {"alpha": "https://a", "beta": "https://b"}, "alpha")
    with pytest.raises(ConfigInvalid) as err:
        resolve_target(str(path), context="gamma", **nowhere(tmp_path))
    assert "'gamma' not found" in str(err.value) and "alpha, beta" in str(err.value)


def test_no_current_context_asks_for_one(tmp_path):
    path = write_config(tmp_path / "c", {"alpha": "https://a"}, None)
    with pytest.raises(ConfigInvalid, match="no current-context"):
        resolve_target(str(path), **nowhere(tmp_path))


def test_home_config_when_no_env(tmp_path):
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    write_config(home / ".kube" / "config", {"home": "https://home:6443"}, "home")
    target = resolve_target(**nowhere(tmp_path))
    assert (target.source, target.server) == (SOURCE_HOME, "https://home:6443")


def test_kubeconfig_env_with_only_missing_files_does_not_fall_back_to_home(tmp_path):
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    write_config(home / ".kube" / "config", {"home": "https://home:6443"}, "home")
    with pytest.raises(NotConfigured):
        resolve_target(**nowhere(tmp_path, KUBECONFIG=str(tmp_path / "gone")))


def _service_account(tmp_path: Path) -> Path:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text(SECRET_TOKEN)
    (sa / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    (sa / "namespace").write_text("kube-system\n")
    return sa


def test_in_cluster_service_account(tmp_path):
    sa = _service_account(tmp_path)
    env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    options = {**nowhere(tmp_path, **env), "service_account_dir": str(sa)}
    target = resolve_target(**options)
    assert (target.source, target.server, target.namespace) == (SOURCE_IN_CLUSTER, "https://10.96.0.1:443", "kube-system")
    configuration = build_configuration(target, env=env)
    assert configuration.host == "https://10.96.0.1:443"
    assert SECRET_TOKEN in str(configuration.api_key)  # the client has it...
    assert SECRET_TOKEN not in repr(target) and SECRET_TOKEN not in target.describe()  # ...we never show it
    ipv6 = resolve_target(**{**options, "env": {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}})
    assert ipv6.server == "https://[fd00::1]:443"


def test_in_cluster_needs_the_token_file(tmp_path):
    env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    with pytest.raises(NotConfigured):
        resolve_target(**nowhere(tmp_path, **env))


def test_kubelet_kubeconfig_fallback_reaches_the_server(fake_kube, tmp_path):
    kubelet_conf = fake_kube.write_kubeconfig(tmp_path / "kubelet.conf", context="system:node:node-1@kubernetes",
                                              user="system:node:node-1")
    options = {**nowhere(tmp_path), "kubelet_kubeconfig": str(kubelet_conf)}
    target = resolve_target(**options)
    assert (target.source, target.user) == (SOURCE_KUBELET, "system:node:node-1")
    client = KubeClient.from_config(connect_timeout=1.0, **options)
    assert client.get_node(NODE).name == NODE
    client.close()


def test_nothing_found_is_not_configured(tmp_path):
    with pytest.raises(NotConfigured) as err:
        resolve_target(**nowhere(tmp_path))
    health = ApiHealth.not_configured(err.value)
    assert (health.state, health.message) == ("not_configured", "API: no kubeconfig found")
    assert "no-kubelet.conf" in health.detail


def test_broken_yaml_says_where(tmp_path):
    path = tmp_path / "broken"
    path.write_text("apiVersion: v1\nclusters: [\n  - name: x\n")
    with pytest.raises(ConfigInvalid, match="not valid YAML at line"):
        resolve_target(str(path), **nowhere(tmp_path))
    health = ApiHealth.not_configured(ConfigInvalid("kubeconfig x is not valid YAML"))
    assert health.message == "API: kubeconfig x is not valid YAML"


def test_no_secret_in_target_client_or_errors(fake_kube, tmp_path):
    users = {"c": {"token": SECRET_TOKEN, "username": "admin", "password": SECRET_PASSWORD,
                   "client-key-data": SECRET_KEY_DATA}}
    path = write_config(tmp_path / "c", {"c": f"http://user:{SECRET_PASSWORD}@127.0.0.1:{fake_kube.port}"}, "c", users)
    before = path.read_bytes()
    client = KubeClient.from_config(str(path), connect_timeout=1.0)
    texts = [repr(client.target), str(client.target), client.target.describe(), repr(client)]
    with pytest.raises(Exception) as err:  # the fake expects another token: 401
        client.list_node_pods(NODE)
    texts += [str(err.value), repr(err.value), client.health.message, client.health.detail, repr(client.health)]
    assert client.health.state == "unauthorized"
    for text in texts:
        for secret in (SECRET_TOKEN, SECRET_PASSWORD, SECRET_KEY_DATA):
            assert secret not in text
    assert client.target.auth == "token" and client.target.server == f"http://127.0.0.1:{fake_kube.port}"
    assert path.read_bytes() == before  # the kubeconfig is never written back
    client.close()


def test_target_fields_for_a_fake_kubeconfig(kubeconfig, fake_kube):
    target = resolve_target(str(kubeconfig), env={})
    assert (target.source, target.context, target.cluster, target.user, target.auth) == (
        SOURCE_EXPLICIT, "fake", "fake-cluster", "fake-user", "token")
    assert target.server == fake_kube.url and target.namespace == "default"
    assert fake_kube.token not in repr(target)


def test_default_search_uses_the_process_environment(fake_kube, tmp_path, monkeypatch):
    path = fake_kube.write_kubeconfig(tmp_path / "cfg")
    monkeypatch.setenv("KUBECONFIG", str(path))
    target = resolve_target(kubelet_kubeconfig=None)
    assert target.source == SOURCE_ENV and target.files == (str(path),)
    assert os.environ["KUBECONFIG"] == str(path)


def test_fake_server_seeded_from_plain_dicts(tmp_path):
    pods = [pod_manifest("ns", f"p{i}", node="n") for i in range(3)]
    with FakeKube(pods=pods, nodes=[node_manifest("n")]) as fake:
        client = KubeClient.from_config(str(fake.write_kubeconfig(tmp_path / "k")), connect_timeout=1.0)
        assert sorted(p.name for p in client.list_node_pods("n").pods) == ["p0", "p1", "p2"]
        client.close()


def _tls_fake():
    import shutil

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    return FakeKube(pods=fixtures.seed_pods(), nodes=[node_manifest(NODE)], tls=True)


def test_in_cluster_end_to_end_over_tls(tmp_path):
    with _tls_fake() as fake:
        sa = tmp_path / "sa"
        sa.mkdir()
        (sa / "token").write_text(fake.token)
        (sa / "ca.crt").write_bytes(fake.ca_file.read_bytes())
        (sa / "namespace").write_text("kube-system")
        env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(fake.port)}
        client = KubeClient.from_config(connect_timeout=1.0, **{**nowhere(tmp_path, **env),
                                                                "service_account_dir": str(sa)})
        assert client.target.source == SOURCE_IN_CLUSTER and client.target.server == fake.url
        assert sorted(p.name for p in client.list_node_pods(NODE).pods) == ["crash", "web"]
        assert fake.token not in repr(client) and fake.token not in repr(client.target)
        client.close()


def test_untrusted_certificate_is_reported_as_such(tmp_path):
    with _tls_fake() as fake:
        path = fake.write_kubeconfig(tmp_path / "k")
        config = yaml.safe_load(path.read_text())
        del config["clusters"][0]["cluster"]["certificate-authority-data"]  # trust only the system CAs
        path.write_text(yaml.safe_dump(config))
        client = KubeClient.from_config(str(path), connect_timeout=1.0)
        with pytest.raises(Unreachable, match="TLS certificate not trusted"):
            client.get_node(NODE)
        assert client.health.state == "unreachable"
        client.close()
