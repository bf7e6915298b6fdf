"""Scratch folders of grading processes: the sweep removes those whose process has ended, and nothing
else (a live process's, another user's, a link, one without an owner)."""

import os
import subprocess
import sys

import pytest

from grader import scratch


@pytest.fixture
def parent(tmp_path):
    return str(tmp_path)


def ended_process_identity():
    """The identity of a process that has ended: a child that ran and was reaped."""
    child = subprocess.run([sys.executable, "-c", "import os; from grader import scratch; print(scratch._identity(os.getpid()))"],
                           capture_output=True, text=True, check=True)
    return child.stdout.strip()


def test_the_sweep_removes_only_folders_whose_owner_has_ended(parent):
    mine = scratch.scratch_folder("gc-master-", parent)
    ended = scratch.scratch_folder("gc-pool-", parent)
    with open(os.path.join(ended, scratch.OWNER), "w") as handle:
        handle.write(ended_process_identity())
    reused = scratch.scratch_folder("gc-fonts-", parent)  # a live pid, but not the process that made it
    with open(os.path.join(reused, scratch.OWNER), "w") as handle:
        handle.write(f"{os.getpid()} 1")
    unowned = os.path.join(parent, "gc-master-unowned")
    os.mkdir(unowned)
    other_kind = scratch.scratch_folder("gc-kernel-", parent)
    with open(os.path.join(other_kind, scratch.OWNER), "w") as handle:
        handle.write(ended_process_identity())
    link = os.path.join(parent, "gc-pool-link")
    os.symlink(ended, link)
    assert scratch.sweep([parent]) == sorted([ended, reused])
    assert sorted(os.listdir(parent)) == sorted(os.path.basename(path) for path in (mine, unowned, other_kind, link))


def test_the_sweep_leaves_another_users_folders(parent):
    if os.getuid() != 0:
        pytest.skip("needs root to make a folder of another user")
    folder = scratch.scratch_folder("gc-pool-", parent)
    with open(os.path.join(folder, scratch.OWNER), "w") as handle:
        handle.write(ended_process_identity())
    os.chown(folder, 65534, 65534)
    assert scratch.sweep([parent]) == []
    assert os.path.isdir(folder)
