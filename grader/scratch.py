"""Scratch folders of grading processes, and the sweep of those whose process has ended.

A grading process removes its folders when it closes, but one that is killed (a Dask nanny's
SIGTERM, SIGKILL, a crash) cannot. Each folder made here records its owner, the process's pid and
start time, so that the next grading process on the machine can tell a folder whose owner has ended
from one still in use (a pid can be reused; a pid with its start time cannot). Processes are looked
up in this machine's /proc: grading processes that share these folders must share a PID namespace.
"""

import os
import shutil
import stat
import tempfile

OWNER = ".owner"
KINDS = ("gc-pool-", "gc-master-", "gc-fonts-")  # what a grading process keeps for its whole life


def _identity(pid: int) -> str | None:
    """"<pid> <start time in clock ticks since boot>" of a running process, or None if there is none."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return f"{pid} {fields[19]}"  # field 22 of proc(5); the two before the ")" are cut off


def scratch_folder(prefix: str, parent: str | None = None) -> str:
    """A new private folder (tempfile.mkdtemp) that names this process as its owner. returns: path"""
    folder = tempfile.mkdtemp(prefix=prefix, dir=parent)
    with open(os.path.join(folder, OWNER), "w", encoding="ascii") as handle:
        handle.write(_identity(os.getpid()))
    return folder


def _owner_has_ended(folder: str) -> bool:
    try:
        with open(os.path.join(folder, OWNER), encoding="ascii") as handle:
            pid, started = handle.read().split()
    except (OSError, ValueError):
        return False  # no owner recorded (or not readable): not ours to judge
    return _identity(int(pid)) != f"{pid} {started}"


def sweep(parents=(tempfile.gettempdir(), "/var/tmp")) -> list[str]:
    """Remove the scratch folders (KINDS) in these parents that this user made and whose owner has
    ended; never a link, nor a folder of another user, nor one without an owner. returns: removed paths"""
    removed = []
    for parent in parents:
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in sorted(name for name in names if name.startswith(KINDS)):
            path = os.path.join(parent, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and _owner_has_ended(path):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed
