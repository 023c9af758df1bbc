"""Where n9s keeps its files, and the one way it opens a file to write.

n9s runs as root, so a file it appends to must not be a way to write somewhere else: a symbolic link planted at
``audit.jsonl`` would make root append to the link's target, a FIFO would block the writer forever, and a state
directory another user can write lets that user swap the file between two opens. Every file n9s writes is opened
by `open_private`: without following links, without blocking, only if it is a regular file of the effective user
in a directory of that user that nobody else can write.

Headless: no textual, no rich.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
_WRITE_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


# ---- where ----
def state_dir() -> Path:
    """``$XDG_STATE_HOME/n9s``, else ``~/.local/state/n9s``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "n9s"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "n9s"


def config_path() -> Path:
    return Path(os.environ.get("N9S_CONFIG") or config_dir() / "config.toml")


def audit_log_path() -> Path:
    return Path(os.environ.get("N9S_AUDIT_LOG") or state_dir() / "audit.jsonl")


def log_file_path(override: str | os.PathLike | None = None) -> Path:
    """n9s's own log: ``--log-file``, else ``<state dir>/n9s.log``."""
    return Path(override) if override else state_dir() / "n9s.log"


def saved_logs_dir() -> Path:
    """Where the log view saves what it shows."""
    return state_dir() / "logs"


# ---- how ----
class UnsafeFile(OSError):
    """n9s will not write this file (a link, not a regular file, someone else's, in a directory others can
    write); the message says why."""


def _owner_text(uid: int) -> str:
    try:
        import pwd

        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except (KeyError, ImportError):
        return f"uid {uid}"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _refuse_file(path: Path, st: os.stat_result) -> None:
    euid = os.geteuid()
    if not stat.S_ISREG(st.st_mode):
        kind = _kind(st.st_mode)
        why = " (n9s does not follow links for files it writes)" if kind == "a symbolic link" else ""
        raise UnsafeFile(errno.EPERM, f"{path} is {kind}, not a regular file{why}")
    if st.st_uid != euid:
        raise UnsafeFile(errno.EPERM, f"{path} is owned by {_owner_text(st.st_uid)}, not by the user n9s runs as "
                                      f"({_owner_text(euid)})")
    if st.st_nlink > 1:
        raise UnsafeFile(errno.EPERM, f"{path} has {st.st_nlink} hard links: writing it would write another name too")


def _refuse_dir(path: str, st: os.stat_result, *, holder: bool) -> None:
    """``holder``: the directory that holds the file (the state dir): the effective user's, and nobody else may
    write it. An ancestor may be root's, and writable by others only if sticky (as /tmp is)."""
    euid = os.geteuid()
    if holder:
        if st.st_uid != euid:
            raise UnsafeFile(errno.EPERM, f"directory {path} is owned by {_owner_text(st.st_uid)}, not by the user "
                                          f"n9s runs as ({_owner_text(euid)})")
        if st.st_mode & 0o022:
            raise UnsafeFile(errno.EPERM, f"directory {path} can be written by "
                                          f"{'others' if st.st_mode & 0o002 else 'its group'} "
                                          f"(mode {stat.S_IMODE(st.st_mode):04o}); make it 0700")
        return
    if st.st_uid not in (0, euid):
        raise UnsafeFile(errno.EPERM, f"directory {path} (above the state directory) is owned by "
                                      f"{_owner_text(st.st_uid)}")
    if st.st_mode & 0o002 and not st.st_mode & stat.S_ISVTX:
        raise UnsafeFile(errno.EPERM, f"directory {path} (above the state directory) can be written by anyone "
                                      f"(mode {stat.S_IMODE(st.st_mode):04o})")


def _make_dirs(directory: Path) -> None:
    """Create what is missing of ``directory``, each new level 0700 whatever the umask."""
    missing: list[Path] = []
    here = directory
    while not os.path.lexists(here):
        missing.append(here)
        if here.parent == here:
            break
        here = here.parent
    for level in reversed(missing):
        try:
            os.mkdir(level, PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile (another n9s): checked below like any other
        os.chmod(level, PRIVATE_DIR_MODE)


def _check_ancestors(real_dir: str) -> None:
    here = os.path.dirname(real_dir)
    while True:
        _refuse_dir(here, os.stat(here), holder=False)
        parent = os.path.dirname(here)
        if parent == here:
            return
        here = parent


def open_private(path: str | os.PathLike, *, exclusive: bool = False) -> int:
    """A descriptor to append to ``path`` (created 0600, its directory 0700 if n9s makes it). ``exclusive``: the
    file must not exist yet.

    Raises UnsafeFile when n9s refuses the file or its directory, OSError when the system says no (ENOSPC, EROFS,
    EACCES...). Never blocks: a FIFO is refused, not opened for a reader that never comes."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    _make_dirs(directory)
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        # The directory checked is the one opened: a rename of it after this changes nothing below.
        _refuse_dir(str(directory), os.fstat(dir_fd), holder=True)
        _check_ancestors(os.path.realpath(directory))
        try:
            before = os.lstat(path.name, dir_fd=dir_fd)
        except FileNotFoundError:
            before = None
        if before is not None:
            if exclusive:
                raise FileExistsError(errno.EEXIST, f"{path} exists already")
            # Refused before opening: opening a device or a FIFO can do something on its own.
            _refuse_file(path, before)
        flags = _WRITE_FLAGS | (os.O_EXCL if exclusive else 0)
        try:
            fd = os.open(path.name, flags, PRIVATE_FILE_MODE, dir_fd=dir_fd)
        except OSError as err:
            if err.errno in (errno.ELOOP, errno.ENXIO):  # a link or a FIFO put there after the check
                raise UnsafeFile(err.errno, f"{path} is a symbolic link or a FIFO, not a regular file") from None
            raise
        try:
            st = os.fstat(fd)
            _refuse_file(path, st)
            if stat.S_IMODE(st.st_mode) & 0o077:
                os.fchmod(fd, PRIVATE_FILE_MODE)  # n9s's own file, made private again
            if st.st_size == 0:
                os.fsync(dir_fd)  # a new file's name survives a crash with the first record
        except BaseException:
            os.close(fd)
            raise
        return fd
    finally:
        os.close(dir_fd)


@dataclass(frozen=True)
class FileCheck:
    """What `n9s info` and the start of the TUI say about one file n9s writes."""

    what: str  # "audit log", "log file"
    path: Path
    problem: str | None  # None: n9s can write it

    @property
    def ok(self) -> bool:
        return self.problem is None

    def line(self) -> str:
        return f"{self.what}: {self.path} ({'ok' if self.ok else self.problem})"


def error_text(err: OSError, path: str | os.PathLike) -> str:
    """One line for an OSError from `open_private` or a write: a refusal says why (its text names the file), the
    system's errors say what, after the file's name."""
    if isinstance(err, UnsafeFile):
        return str(err.strerror)
    return f"{path}: {err.strerror or err}"


def check_writable(what: str, path: str | os.PathLike) -> FileCheck:
    """Open ``path`` as n9s would to write it (creating it if missing) and write nothing."""
    path = Path(path)
    try:
        os.close(open_private(path))
    except UnsafeFile as err:
        return FileCheck(what, path, f"refused: {error_text(err, path)}")
    except OSError as err:
        return FileCheck(what, path, f"cannot be written: {err.strerror or err}")
    return FileCheck(what, path, None)
