"""The kube source stays headless and light: importing it loads neither the kubernetes client nor a UI."""
from __future__ import annotations

import subprocess
import sys


def test_kube_modules_import_without_kubernetes_textual_or_rich():
    code = (
        "import sys\n"
        "import n9s.sources.kube.client, n9s.sources.kube.watch, n9s.sources.kube.config, n9s.sources.kube.objects\n"
        "heavy = sorted(m for m in ('kubernetes', 'textual', 'rich', 'pydantic') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_client_is_imported_on_first_use(tmp_path):
    config = tmp_path / "k"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:9'}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {token: t0123456789}}]\n"
    )
    code = (
        "import sys\n"
        "from n9s.sources.kube.client import KubeClient\n"
        f"client = KubeClient.from_config({str(config)!r}, connect_timeout=0.5)\n"
        "before = 'kubernetes' in sys.modules\n"
        "try:\n"
        "    client.version()\n"
        "except Exception as e:\n"
        "    print(type(e).__name__)\n"
        "print(before, 'kubernetes' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["Unreachable", "False", "True"]
