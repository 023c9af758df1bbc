"""The headless core never imports textual or rich."""
from __future__ import annotations

import subprocess
import sys

HEADLESS = [
    "n9s.sources.cri", "n9s.sources.containerd", "n9s.sources.cgroups", "n9s.sources.procs", "n9s.sources.endpoint",
    "n9s.sources.logs", "n9s.sources.kube", "n9s.model", "n9s.model.collector", "n9s.render", "n9s.render.views",
    "n9s.render.node", "n9s.render.detail", "n9s.sanitize", "n9s.viewspec", "n9s.dump", "n9s.actions", "n9s.audit",
    "n9s.filtering", "n9s.sources.log_format", "n9s.sources.log_index", "n9s.sources.log_history",
    "n9s.sources.log_follow", "n9s.sources.log_lines", "n9s.sources.kube_watch", "n9s.sources.kube_config",
    "n9s.model.api_side", "n9s.model.kube_join", "n9s.model.remote", "n9s.render.events", "n9s.api_logs",
    "n9s.sources.exec", "n9s.config", "n9s.exit_signals", "n9s.daemon_pool", "n9s.hangup_watch", "n9s.keys", "n9s.failures", "n9s.paths",
    "n9s.daemon_threads", "n9s.clock", "n9s.demo.fixed_picture",
]


def test_headless_core_loads_without_textual_or_rich():
    code = (
        "import sys, importlib\n"
        f"for name in {HEADLESS!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"headless modules pulled in: {result.stdout.strip()}"


def test_the_check_would_notice_textual():
    code = "import sys, n9s.widgets.resource_table; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "True"
