"""The audit log: two JSON lines per action taken on the node, sharing an ``id``.

The ``intent`` line (time, who, action, targets, parameters) is written and synced to disk BEFORE the call; if it
cannot be written the action does not run (`AuditUnavailable`). The ``result`` line follows the call: ``ok``, the
exit code of a command (``exit 7``), or the error. An intent with no result means n9s ended before the call
returned (or the result could not be written): the act may have happened.

Who is the process's real identity (uid, euid, the login uid the kernel keeps, SUDO_USER, the terminal, the ssh
client, the pid), never $USER or $LOGNAME, which anyone can set. Written to ``<state dir>/audit.jsonl`` through
`n9s.core.paths.open_private`. Secrets never go in: callers pass ids, names and plain parameters, and values under keys
that look secret are masked anyway.
"""
from __future__ import annotations

import json
import os
import secrets
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from n9s.core.paths import audit_log_path, error_text, open_private

__all__ = ["AuditLog", "AuditUnavailable", "Pending", "audit_log_path", "identity"]

SECRET_HINTS = ("token", "password", "secret", "key-data", "client-key", "authorization", "bearer")
LOGINUID_UNSET = 4294967295  # (uid_t)-1: no login session set it (a boot-time service, a container)


class AuditUnavailable(OSError):
    """The intent record could not be written: the action must not run. The message says why."""


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("***" if any(h in str(k).lower() for h in SECRET_HINTS) else _mask(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask(v) for v in value]
    return value


def _user_name(uid: int | None) -> str | None:
    if uid is None:
        return None
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return None


def _loginuid() -> int | None:
    try:
        with open("/proc/self/loginuid", encoding="ascii") as f:
            value = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return None if value == LOGINUID_UNSET else value


def _tty() -> str | None:
    try:
        return os.ttyname(0) if os.isatty(0) else None
    except OSError:
        return None


def identity() -> dict[str, Any]:
    """Who acts. The names come from the user database by uid; SUDO_USER and SSH_CONNECTION are what sudo and
    sshd set (recorded as they are: root could fake them, but the login uid is the kernel's)."""
    uid, euid = os.getuid(), os.geteuid()
    login = _loginuid()
    ssh = os.environ.get("SSH_CONNECTION", "").split()
    return {
        "uid": uid,
        "user": _user_name(uid),
        "euid": euid,
        "loginuid": login,
        "login_user": _user_name(login),
        "sudo_user": os.environ.get("SUDO_USER") or None,
        "sudo_uid": os.environ.get("SUDO_UID") or None,
        "tty": _tty(),
        "ssh_client": " ".join(ssh[:2]) if len(ssh) >= 2 else None,
        "pid": os.getpid(),
    }


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="microseconds")


class Pending:
    """An intent on disk, waiting for its result."""

    def __init__(self, entry: dict) -> None:
        self.entry = entry
        self.id: str = entry["id"]


class AuditLog:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else audit_log_path()
        self._lock = threading.Lock()
        self._who: dict[str, Any] | None = None

    @property
    def who(self) -> dict[str, Any]:
        if self._who is None:
            self._who = identity()
        return self._who

    def _append(self, entry: dict, *, sync: bool) -> None:
        data = (json.dumps(entry, sort_keys=False) + "\n").encode("utf-8")
        with self._lock:
            fd = open_private(self.path)
            try:
                written = os.write(fd, data)
                if written != len(data):  # O_APPEND on a regular file: short only when the disk filled up
                    raise OSError(28, f"only {written} of {len(data)} bytes written (disk full?)")
                if sync:
                    os.fsync(fd)
            finally:
                os.close(fd)

    def intent(self, action: str, targets: list[dict[str, str]], params: dict[str, Any]) -> Pending:
        """Write and sync the record of what is about to be done. Raises AuditUnavailable if it cannot."""
        entry = {
            "id": secrets.token_hex(8),
            "phase": "intent",
            "time": _now(),
            "who": self.who,
            "action": action,
            "targets": targets,
            "params": _mask(params),
        }
        try:
            self._append(entry, sync=True)
        except OSError as err:
            raise AuditUnavailable(err.errno, error_text(err, self.path)) from err
        return Pending(entry)

    def result(self, pending: Pending, result: str, **details: Any) -> dict:
        """The record of what the call did. Raises OSError if it cannot be written (the act is done by then)."""
        intent = pending.entry
        entry = {
            "id": intent["id"],
            "phase": "result",
            "time": _now(),
            "action": intent["action"],
            "targets": intent["targets"],
            "result": result,
            **_mask(details),
        }
        self._append(entry, sync=False)
        return entry

    def record(self, action: str, targets: list[dict[str, str]], params: dict[str, Any], result: str) -> dict:
        """Intent and result at once, for an act already decided (tests, tools)."""
        pending = self.intent(action, targets, params)
        return {**pending.entry, **self.result(pending, result)}

    def lines(self) -> list[dict]:
        """Every record as written, intents and results."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def entries(self) -> list[dict]:
        """One entry per action, in the order intended: the intent with its result's fields over it; ``result`` is
        None when no result was written."""
        merged: dict[str, dict] = {}
        for line in self.lines():
            key = line.get("id") or f"line{len(merged)}"
            if line.get("phase") == "result" and key in merged:
                merged[key].update({k: v for k, v in line.items() if k not in ("phase", "time")}, finished=line["time"])
            else:
                merged[key] = {**line, "result": line.get("result")}
        return list(merged.values())
