"""Files n9s writes: saved logs, the audit log and its own log file are created with mode 0600 in 0700
directories, whatever the umask; a saved log never replaces an existing file (or follows a planted symlink), the
audit log and the log file only ever grow; `n9s dump` writes nothing but its output."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from n9s.actions.audit import AuditLog
from n9s.sources.logs.format import LogRecord
from n9s.widgets.log_view import Shown, fresh_path, save_lines


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@contextmanager
def open_umask():
    old = os.umask(0)  # the most permissive umask: every mode bit n9s asks for is granted
    try:
        yield
    finally:
        os.umask(old)


def shown(i: int, text: str) -> Shown:
    from rich.text import Text

    return Shown(i, LogRecord(text.encode(), ts_ns=i), Text(text), text, "")


# ---------------------------------------------------------------- saved logs

def test_saved_logs_are_private_fresh_files_and_never_replace_anything(tmp_path):
    folder = tmp_path / "saved"
    with open_umask():
        first = fresh_path(str(folder), "default/web")
        assert save_lines(first, [shown(1, "one"), shown(2, "two")], timestamps=False) == 2
        second = fresh_path(str(folder), "default/web")
        save_lines(second, [shown(3, "three")], timestamps=False)
    assert first != second
    assert Path(first).read_text() == "one\ntwo\n" and Path(second).read_text() == "three\n"
    assert mode(Path(first)) == mode(Path(second)) == 0o600
    assert mode(folder) == 0o700

    # A file someone put at the next name is left alone, and so is the file a planted symlink points to.
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    third = fresh_path(str(folder), "default/web")
    os.symlink(victim, third)
    fourth = fresh_path(str(folder), "default/web")
    assert fourth != third
    with pytest.raises(FileExistsError):  # even if the name was taken between choosing and writing
        save_lines(third, [shown(4, "four")], timestamps=False)
    assert victim.read_text() == "precious\n" and Path(first).read_text() == "one\ntwo\n"


@pytest.mark.parametrize("title", ["../../etc/passwd", "/etc/cron.d/x", "ns/pod\x1b]0;t\x07/c", "..", ""])
def test_a_hostile_title_cannot_steer_the_saved_file_out_of_the_folder(tmp_path, title):
    path = Path(fresh_path(str(tmp_path), title))
    assert path.parent == tmp_path
    assert path.name.endswith(".log") and not path.name.startswith(".")
    assert all(ch.isalnum() or ch in "_.-" for ch in path.name)


# ---------------------------------------------------------------- the audit log

def test_the_audit_log_is_private_and_append_only(tmp_path):
    path = tmp_path / "state" / "n9s" / "audit.jsonl"
    with open_umask():
        AuditLog(path).record("stop-container", [{"id": "a"}], {"grace_period_s": 0}, "ok")
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    before = path.read_text()

    # Another n9s (or a thread of this one) appends: whole lines, nothing earlier lost or rewritten.
    log = AuditLog(path)
    threads = [threading.Thread(target=lambda i=i: [log.record("kill-container", [{"id": f"c{i}"}], {"n": j}, "ok")
                                                  for j in range(25)]) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    text = path.read_text()
    assert text.startswith(before)
    lines = [json.loads(line) for line in text.splitlines()]  # an intent and a result per action
    assert len(lines) == 2 * (1 + 100) and [e["phase"] for e in lines].count("intent") == 101
    assert len(log.entries()) == 101 and all(e["result"] == "ok" for e in log.entries())


def test_the_audit_log_masks_anything_that_looks_like_a_credential(tmp_path):
    entry = AuditLog(tmp_path / "audit.jsonl").record(
        "exec", [{"id": "a"}], {"argv": ["true"], "token": "s3cret", "headers": {"Authorization": "Bearer s3cret"},
                                "nested": [{"client-key-data": "LS0tLS1CRUdJTg=="}]}, "ok")
    text = (tmp_path / "audit.jsonl").read_text()
    assert "s3cret" not in text and "LS0tLS1CRUdJTg==" not in text
    assert entry["params"]["argv"] == ["true"]


# ---------------------------------------------------------------- the log file

def run_n9s(*args: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    # umask 0 set by a shell, not by preexec_fn: a Python preexec_fn makes subprocess fork() (not vfork) this
    # process, whose grpc threads (the suite's demo node clients) then run their fork handlers in the child, which
    # aborted once ("Epoll1Poller encountered epoll_wait error: Bad file descriptor") before n9s ever ran.
    return subprocess.run(["sh", "-c", 'umask 000 && exec "$@"', "sh", sys.executable, "-m", "n9s", *args],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **env}, cwd=cwd)


def test_the_log_file_is_private_and_append_only(tmp_path):
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "N9S_CONFIG": str(tmp_path / "none.toml")}
    result = run_n9s("--debug", "info", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    log = tmp_path / "state" / "n9s" / "n9s.log"
    assert mode(log) == 0o600 and mode(log.parent) == 0o700
    log.write_text("an earlier run\n")
    result = run_n9s("--debug", "--address", str(tmp_path / "none.sock"), "dump", "--interval", "0", env=env,
                     cwd=tmp_path)
    assert result.returncode == 2
    assert log.read_text().startswith("an earlier run\n")  # appended to, never truncated
    assert mode(log) == 0o600

    chosen = tmp_path / "chosen.log"
    chosen.write_text("kept\n")
    run_n9s("--log-file", str(chosen), "info", env=env, cwd=tmp_path)
    assert chosen.read_text().startswith("kept\n")


@pytest.mark.node
def test_dump_writes_only_to_stdout(demo_node, tmp_path):
    work = tmp_path / "cwd"
    work.mkdir()
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "N9S_CONFIG": str(tmp_path / "none.toml")}
    result = run_n9s("--address", str(demo_node.address), "--pods-dir", str(demo_node.pods_dir), "dump",
                     "--interval", "0", env=env, cwd=work)
    assert result.returncode == 0, result.stderr
    assert any(p["name"] == "web" for p in json.loads(result.stdout)["pods"])
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == ["state/n9s/n9s.log"]  # its own log only; no audit log (nothing was done), no files in cwd
    assert mode(tmp_path / "state" / "n9s" / "n9s.log") == 0o600
