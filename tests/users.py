"""Real Unix accounts for the tests of a real course: an instructor who is not root, and students.

nbgrader's exchange names a student by their account, and a grader that is not root sandboxes
differently, so these tests need real accounts. Making them takes root: without it the tests skip,
unless GRADER_REQUIRE_USERS=1 (set by .ci/run) turns the skip into a failure.
"""

import contextlib
import os
import pwd
import subprocess
import tempfile

import pytest

from conftest import BIN, REPO_ROOT


def require_root():
    if os.geteuid() != 0:
        message = "these tests make Unix accounts, which takes root"
        if os.environ.get("GRADER_REQUIRE_USERS") == "1":
            pytest.fail(f"they must run here (GRADER_REQUIRE_USERS=1), but {message}")
        pytest.skip(message)


@contextlib.contextmanager
def accounts(*names):
    """Unix accounts with these names (made if missing, removed afterwards). yields: dict name -> uid"""
    require_root()
    made = []
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                           check=True, capture_output=True)
            made.append(name)
    for name in names:  # a process left by an interrupted earlier run would look like this run's
        subprocess.run(["pkill", "--signal", "KILL", "--uid", name], capture_output=True)
    try:
        yield {name: pwd.getpwnam(name).pw_uid for name in names}
    finally:
        for name in made:
            subprocess.run(["userdel", name], capture_output=True)


def home_of(uid, parent=None):
    """A new folder owned by uid, in a place every account can reach. returns: path"""
    folder = tempfile.mkdtemp(prefix=f"gc-home-{uid}-", dir=parent)
    os.chmod(folder, 0o755)
    os.chown(folder, uid, uid)
    return folder


def run_as(uid, command, cwd, env=None, check=True):
    """Run a command as another account (its own uid, gid and groups only), with the venv on PATH.

    returns: CompletedProcess with text output
    """
    environment = {"PATH": BIN + os.pathsep + "/usr/bin:/bin", "HOME": cwd, "LANG": "C.UTF-8", **(env or {})}
    result = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--init-groups", *command],
                            cwd=cwd, env=environment, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} as uid {uid} failed (exit {result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def nbgrader_as(uid, course_root, *args, env=None, check=True):
    """An nbgrader command on a course, as another account, from the repository (its config applies)."""
    return run_as(uid, [os.path.join(BIN, "nbgrader"), *args, f"--CourseDirectory.root={course_root}"],
                  cwd=REPO_ROOT, env={"HOME": course_root, **(env or {})}, check=check)
