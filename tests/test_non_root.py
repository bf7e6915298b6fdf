"""Grading as an instructor who is not root, as on a shared server or JupyterHub.

The kernels are sandboxed through unprivileged user namespaces: the same scores as root, and the
same sandbox properties (no reading or writing outside, no network, fork bombs contained, no process
left behind), with a loud warning that cgroup limits are not applied; and where the machine allows
no user namespaces, the grader refuses at once with a clear message instead of hanging.
"""

import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import BATCH_LIMITS, make_course, scores_of, trap_server, write_cases
from grader.course import ASSIGNMENT
from tools import submissions
from users import accounts, home_of, nbgrader_as

pytestmark = pytest.mark.xdist_group("accounts")

HOSTILE = ("adv_read_outside", "adv_write_outside", "adv_network", "adv_fork_bomb", "adv_memory_bomb",
           "adv_background_process", "adv_os_exit", "adv_file_links_and_special_files")


def running_processes(uid, grace=5.0):
    """The processes of an account that are still running `grace` seconds after the last one seen
    ends (a zombie, already dead, waits only for the machine's init to collect its exit status; a
    process caught while it exits is not a survivor). returns: list of "pid parent state command" """
    deadline = time.monotonic() + grace
    while True:
        listing = subprocess.run(["ps", "-o", "pid=,ppid=,stat=,args=", "-u", str(uid)],
                                 capture_output=True, text=True).stdout
        running = [line for line in listing.splitlines() if line.split()[2][0] != "Z"]
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.2)


@pytest.fixture(scope="module")
def instructor():
    with accounts("gcgrader") as uids:
        yield uids["gcgrader"]


@pytest.fixture(scope="module")
def graded_as_instructor(instructor, tmp_path_factory):
    """The sample class and the kernel and file threats, autograded by the instructor's account."""
    home = home_of(instructor)  # one home: the course and the canary, removed together at the end
    root = os.path.join(home, "course")
    make_course(root)
    canary = os.path.join(home, "canary.txt")
    with open(canary, "w") as handle:
        handle.write("untouched")
    cases = submissions.read_directory(submissions.SAMPLE_CLASS_DIR)
    cases += [case for case in submissions.read_directory(submissions.ADVERSARIAL_DIR) if case.name in HOSTILE]
    with trap_server() as (port, trap_requests):
        write_cases(root, cases, {"TRAP_PORT": str(port), "CANARY_PATH": canary})
        subprocess.run(["chown", "-R", f"{instructor}:{instructor}", root, canary], check=True)
        result = nbgrader_as(instructor, root, "autograde", ASSIGNMENT, "--force", *BATCH_LIMITS)
    with open(canary) as handle:
        canary_text = handle.read()
    survivors = running_processes(instructor)
    scores, penalties = scores_of(root)
    yield {"root": root, "cases": cases, "scores": scores, "penalties": penalties, "log": result.stderr,
           "canary": canary_text, "trap": trap_requests, "survivors": survivors}
    shutil.rmtree(os.path.dirname(root), ignore_errors=True)


def test_the_same_scores_as_root(graded_as_instructor):
    for case in graded_as_instructor["cases"]:
        expected = submissions.expected_scores(case, graded_as_instructor["root"])
        actual = {exercise: score for exercise, (score, _) in graded_as_instructor["scores"][case.name].items()}
        assert actual == expected, case.name
        assert graded_as_instructor["penalties"].get(case.name, 0.0) == case.expected_penalty, case.name


def test_the_same_sandbox_properties(graded_as_instructor):
    from conftest import notebook_text
    root = graded_as_instructor["root"]
    assert graded_as_instructor["canary"] == "untouched" and graded_as_instructor["trap"] == []
    assert graded_as_instructor["survivors"] == [], "a process of the instructor's grading outlived it"
    assert re.findall(r"REACHED: ([^\\]+)", notebook_text(root, "autograded", "adv_network")) == []
    assert re.findall(r"WROTE: ([^\\]+)", notebook_text(root, "autograded", "adv_write_outside")) == []
    leaked = re.findall(r"LEAKED: ([^\\]+)", notebook_text(root, "autograded", "adv_read_outside"))
    assert all(path.startswith((sys.prefix, sys.base_prefix, "/usr")) for path in leaked), leaked  # package data only


def test_it_says_loudly_that_group_limits_are_not_applied(graded_as_instructor):
    assert "cgroup limits" in graded_as_instructor["log"] and "NOT applied" in graded_as_instructor["log"]


def test_requiring_group_limits_refuses_at_once(instructor, graded_as_instructor):
    result = nbgrader_as(instructor, graded_as_instructor["root"], "autograde", ASSIGNMENT, "--force",
                         "--student=alice", env={"GRADER_REQUIRE_CGROUP": "1"}, check=False)
    assert result.returncode != 0 and "GRADER_REQUIRE_CGROUP" in result.stderr


def test_without_user_namespaces_it_refuses_at_once_with_a_clear_message(instructor, graded_as_instructor):
    """In a user namespace whose limit of nested user namespaces is 0, as on a machine that forbids
    them, the instructor's autograde stops before any student, with one message."""
    from conftest import BIN, REPO_ROOT
    command = [f"{BIN}/nbgrader", "autograde", ASSIGNMENT, "--force", "--student=alice",
               f"--CourseDirectory.root={graded_as_instructor['root']}"]
    result = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "without_user_namespaces.py"),
                             str(instructor), *command], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                            env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": graded_as_instructor["root"]})
    assert result.returncode != 0
    assert "user namespaces" in result.stderr and "GRADER_ALLOW_UNSANDBOXED" in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
