"""Exec streams without a terminal: the v4 status channel, the shell choice, argv passed literally, read-only
refusal, against the real demo node's streaming server where it matters."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from n9s.actions.layer import Actions, Target
from n9s.actions.audit import AuditLog
from n9s.sources.cri import CriClient
from n9s.sources.errors import CallFailed, ReadOnlyRefused, SourceError
from n9s.sources.exec import (STDERR, STDOUT, StreamSession, StreamStatus, choose_shell, parse_status,
                              probe_result, resize_payload, websocket_url)

MISSING = ('OCI runtime exec failed: exec failed: unable to start container process: exec: "bash": '
           "executable file not found in $PATH: unknown")


# ---- wire format ----
def test_status_success_means_exit_zero():
    assert parse_status(b'{"metadata":{},"status":"Success"}') == StreamStatus(0)


def test_status_non_zero_exit_code_comes_from_the_cause():
    payload = {
        "metadata": {}, "status": "Failure", "message": "command terminated with non-zero exit code: 7",
        "reason": "NonZeroExitCode", "details": {"causes": [{"reason": "ExitCode", "message": "7"}]},
    }
    assert parse_status(json.dumps(payload).encode()).exit_code == 7


def test_status_runtime_error_has_no_exit_code_but_keeps_the_message():
    payload = {"metadata": {}, "status": "Failure", "message": f"Internal error occurred: {MISSING}",
               "reason": "InternalError", "details": {"causes": [{"message": MISSING}]}, "code": 500}
    status = parse_status(json.dumps(payload).encode())
    assert status.exit_code is None
    assert "executable file not found" in status.message


def test_status_plain_text_from_an_old_server_is_kept_as_the_message():
    assert parse_status(b"container not running") == StreamStatus(None, "container not running")


def test_resize_is_capitalised_json_clamped_to_uint16():
    assert json.loads(resize_payload(120, 40)) == {"Width": 120, "Height": 40}
    assert json.loads(resize_payload(70000, -1)) == {"Width": 65535, "Height": 0}


def test_streaming_urls_become_websocket_urls():
    assert websocket_url("http://127.0.0.1:4000/exec/abc") == "ws://127.0.0.1:4000/exec/abc"
    assert websocket_url("https://127.0.0.1:4000/attach/abc") == "wss://127.0.0.1:4000/attach/abc"
    with pytest.raises(CallFailed):
        websocket_url("/exec/abc")


# ---- shell choice ----
def test_bash_is_preferred_when_it_runs():
    tried = []

    def probe(argv):
        tried.append(argv)
        return True

    assert choose_shell(probe) == ["bash"]
    assert tried == [["bash", "-c", "exit 0"]]


def test_sh_is_chosen_when_bash_is_missing_and_none_when_neither_runs():
    assert choose_shell(lambda argv: argv[0] == "sh") == ["sh"]
    assert choose_shell(lambda argv: False) is None


def test_a_missing_binary_is_not_a_failure_but_other_errors_are():
    assert probe_result(True, "ok", 0) is True
    assert probe_result(False, f"ExecSync failed (UNKNOWN): {MISSING}", None) is False
    with pytest.raises(SourceError, match="not running"):
        probe_result(False, "ExecSync failed (UNKNOWN): container is not running", None)


def test_a_broken_runtime_is_not_reported_as_no_shell():
    def probe(argv):
        raise SourceError("nobody listens on /run/containerd/containerd.sock")

    with pytest.raises(SourceError):
        choose_shell(probe)


def test_exec_source_is_headless():
    code = ("import sys, n9s.sources.exec\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


# ---- against the real streaming server ----
@pytest.fixture(scope="module")
def node_target(demo_node):
    pod = demo_node.pods["default/web"]
    cri = CriClient(str(demo_node.address))
    target = Target(id=pod.container("logger"), name="logger", namespace="default", pod="web")
    yield cri, target
    cri.close()


@pytest.mark.node
def test_non_tty_exec_separates_stdout_stderr_and_returns_the_exit_code(node_target):
    cri, target = node_target
    url = cri.exec_url(target.id, ["sh", "-c", "echo to-out; echo to-err >&2; exit 3"], tty=False, stdin=False)
    with StreamSession(url) as session:
        seen = {STDOUT: b"", STDERR: b""}
        code = session.wait(timeout=20, on_output=lambda ch, data: seen.__setitem__(ch, seen[ch] + data))
    assert seen == {STDOUT: b"to-out\n", STDERR: b"to-err\n"}
    assert code == 3


@pytest.mark.node
def test_success_is_exit_zero_and_a_missing_binary_is_a_clear_message(node_target):
    cri, target = node_target
    with StreamSession(cri.exec_url(target.id, ["true"], tty=False, stdin=False)) as session:
        assert session.wait(timeout=20) == 0
    with StreamSession(cri.exec_url(target.id, ["no-such-binary"], tty=False, stdin=False)) as session:
        assert session.wait(timeout=20) is None
        assert "executable file not found" in session.status.message


@pytest.mark.node
def test_a_used_token_is_refused_with_a_clear_error(node_target):
    cri, target = node_target
    url = cri.exec_url(target.id, ["true"], tty=False, stdin=False)
    with StreamSession(url) as session:
        session.wait(timeout=20)
    with pytest.raises(SourceError, match="single-use"):
        StreamSession(url)


@pytest.mark.node
def test_tty_exec_takes_stdin_and_resize(node_target):
    cri, target = node_target
    script = 'while read line; do [ "$line" = quit ] && exit 4; echo "got-$line $(stty size)"; done'
    url = cri.exec_url(target.id, ["sh", "-c", script], tty=True, stdin=True)
    out = b""
    with StreamSession(url) as session:
        session.resize(91, 17)
        # The server applies a resize on its own goroutine: ask again until the new size shows (bounded).
        for attempt in range(50):
            session.send_stdin(f"try{attempt}\r".encode())
            for _, data in iter(lambda: session.read(timeout=10), None):
                out += data
                if b"got-try%d " % attempt in out and out.endswith(b"\n"):
                    break
            if b"17 91" in out:
                break
        session.send_stdin(b"quit\r")
        assert session.wait(timeout=20) == 4
    assert b"got-try0" in out
    assert b"17 91" in out


@pytest.mark.node
def test_busybox_has_no_bash_so_the_shell_is_sh(node_target, tmp_path):
    cri, target = node_target
    audit = AuditLog(tmp_path / "audit.jsonl")
    outcome, shell, url = Actions(cri, audit=audit).open_shell(target)
    assert outcome.ok and shell == ["sh"] and url
    # The probes (bash, then sh) and the stream are one audited action, whose result names the shell found.
    (entry,) = audit.entries()
    assert (entry["action"], entry["params"]["candidates"], entry["shell"]) == ("shell", [["bash"], ["sh"]], ["sh"])
    outcome, shell, url = Actions(cri, audit=audit).open_shell(target, candidates=(("no-shell-here",),))
    assert outcome.ok and shell is None and url is None
    assert audit.entries()[-1]["result"].startswith("no shell")


@pytest.mark.node
def test_arguments_reach_the_container_literally(node_target, tmp_path):
    cri, target = node_target
    actions = Actions(cri, audit=AuditLog(tmp_path / "audit.jsonl"))
    outcome, result = actions.exec_sync(target, ["echo", "a; echo b", "$(id)", "'q'"], timeout_s=10)
    assert outcome.ok
    assert result.stdout == b"a; echo b $(id) 'q'\n"
    assert result.exit_code == 0
    with pytest.raises(TypeError):
        actions.exec_sync(target, "echo a; id")  # type: ignore[arg-type]


@pytest.mark.node
def test_read_only_refuses_shell_exec_and_attach_before_touching_the_container(node_target, tmp_path):
    cri, target = node_target
    audit = AuditLog(tmp_path / "audit.jsonl")
    readonly = Actions(cri, readonly=True, audit=audit)
    marker = f"/tmp/n9s-readonly-{tmp_path.name}"
    with pytest.raises(ReadOnlyRefused, match="read-only"):
        readonly.exec_sync(target, ["touch", marker])
    with pytest.raises(ReadOnlyRefused):
        readonly.exec_url(target, ["sh"], tty=True, stdin=True)
    with pytest.raises(ReadOnlyRefused):
        readonly.attach_url(target, stdin=False, tty=False)
    with pytest.raises(ReadOnlyRefused):
        readonly.open_shell(target)
    assert audit.entries() == []
    assert cri.exec_sync(target.id, ["test", "-e", marker]).exit_code == 1
