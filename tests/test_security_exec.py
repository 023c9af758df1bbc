"""Exec and ExecSync take argv lists only: text a user typed is never handed to a shell by n9s. The action layer
refuses a string (or bytes) before anything reaches the runtime or the audit log; the argv list reaches the runtime
as it is (the exec tests on the demo node check that `;`, `$(...)` and quotes arrive literally in the container)."""
from __future__ import annotations

import pytest

from n9s.actions.layer import Actions, Target
from n9s.actions.audit import AuditLog

TARGET = Target(id="c0ffee", name="app", namespace="default", pod="web")
SHELL_TEXT = "echo a; rm -rf / $(id) 'q'"


class RecordingRuntime:
    """Stands in for the CRI client: records what would have been sent."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def exec_sync(self, container_id, argv, timeout_s):
        self.calls.append(("exec_sync", container_id, argv))
        return None

    def exec_url(self, container_id, argv, *, tty, stdin):
        self.calls.append(("exec_url", container_id, argv))
        return "http://127.0.0.1:1/exec/x"


@pytest.mark.parametrize("argv", [SHELL_TEXT, SHELL_TEXT.encode()], ids=["str", "bytes"])
def test_a_command_string_is_refused_before_it_reaches_anything(argv, tmp_path):
    runtime = RecordingRuntime()
    audit = AuditLog(tmp_path / "audit.jsonl")
    actions = Actions(runtime, audit=audit)
    with pytest.raises(TypeError, match="argv list"):
        actions.exec_sync(TARGET, argv)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="argv list"):
        actions.exec_url(TARGET, argv)  # type: ignore[arg-type]
    assert runtime.calls == []
    assert audit.entries() == []


def test_an_argv_list_goes_through_unchanged_and_is_audited_as_a_list(tmp_path):
    runtime = RecordingRuntime()
    audit = AuditLog(tmp_path / "audit.jsonl")
    actions = Actions(runtime, audit=audit)
    argv = ["sh", "-c", SHELL_TEXT]  # the user may ask for a shell explicitly; n9s adds none
    outcome, _ = actions.exec_sync(TARGET, argv)
    assert outcome.ok
    actions.exec_url(TARGET, ("bash",))
    assert runtime.calls == [("exec_sync", "c0ffee", argv), ("exec_url", "c0ffee", ["bash"])]
    assert [e["params"]["argv"] for e in audit.entries()] == [argv, ["bash"]]
