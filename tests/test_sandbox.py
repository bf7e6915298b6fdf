"""The sandbox itself: what a kernel can see and do, and the refusal to grade without one."""

import os
import shutil
import sys
import time

import pytest

from conftest import REPO_ROOT
from grader import sandbox
from grader.kernel import KernelDied, SandboxedKernel


def test_refuses_to_grade_without_a_sandbox_unless_told(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    sandbox.sandbox_problem.cache_clear()
    monkeypatch.setattr(sandbox, "sandbox_problem", sandbox.sandbox_problem.__wrapped__)
    monkeypatch.delenv(sandbox.UNSAFE_OPT_IN, raising=False)
    with pytest.raises(sandbox.SandboxUnavailable, match="GRADER_ALLOW_UNSANDBOXED"):
        sandbox.check_sandbox()
    monkeypatch.setenv(sandbox.UNSAFE_OPT_IN, "1")
    warnings = []

    class Log:
        warning = warnings.append

    assert sandbox.check_sandbox(Log) is False
    assert "WITHOUT A SANDBOX" in warnings[0]


def test_the_command_binds_no_course_folder_and_no_network(tmp_path):
    command = sandbox.kernel_command(str(tmp_path), str(tmp_path), str(tmp_path / "k.json"), sandbox.Limits(), uid=620_001)
    sources = [command[i + 1] for i, word in enumerate(command) if word in ("--bind", "--ro-bind")]
    inside_course = [path for path in sources if path.startswith(REPO_ROOT + os.sep) or path == REPO_ROOT]
    assert all(os.path.realpath(path) == os.path.realpath(sys.prefix) for path in inside_course), inside_course
    assert "--unshare-net" in command and "--unshare-pid" in command and "--die-with-parent" in command
    assert "--reuid=620001" in command


@pytest.mark.skipif(not sandbox.bubblewrap_available(), reason="bubblewrap is not installed")
def test_a_sandboxed_kernel_sees_only_its_folder(tmp_path):
    (tmp_path / "mine.txt").write_text("mine")
    kernel = SandboxedKernel(str(tmp_path), sandbox.Limits(memory_bytes=1024 ** 3))
    try:
        code = ("import os, socket\n"
                "print(os.getuid(), open('mine.txt').read(), os.path.exists(%r), os.path.exists(%r))\n"
                "try:\n    socket.create_connection(('127.0.0.1', 1), timeout=1)\n"
                "except OSError as error:\n    print(type(error).__name__)\n"
                "try:\n    bytearray(2 * 1024 ** 3)\nexcept MemoryError:\n    print('MemoryError')\n"
                % (os.path.join(REPO_ROOT, "source"), os.path.join(REPO_ROOT, "nbgrader_config.py")))
        outputs, reply = kernel.execute(code, timeout=30)
        text = "".join(output.get("text", "") for output in outputs)
        assert reply["status"] == "ok", outputs
        assert text.split() == [str(kernel.uid_lease.uid), "mine", "False", "False", "ConnectionRefusedError", "MemoryError"]
        with pytest.raises(KernelDied, match="died"):
            kernel.execute("import os; os._exit(7)", timeout=30)
    finally:
        kernel.shutdown()
    assert not kernel.alive


STRAYS = """
import os, subprocess, sys, threading, time
subprocess.Popen(["sleep", "600"])
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
if os.fork() == 0:  # a daemon, orphaned to the sandbox's init
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)
forker = threading.Thread(target=lambda: subprocess.Popen(["sleep", "600"]))  # forked by another thread
forker.start()
forker.join()
for _ in range(8):  # a fork bomb held back by the process limit: every child forks for ever
    try:
        child = os.fork()
    except OSError:
        break
    if child == 0:
        while True:
            try:
                os.fork()
            except OSError:
                pass
time.sleep(1)
"""
RUNNING = """
import os
states = []
for name in filter(str.isdigit, os.listdir("/proc")):
    try:
        states.append(open(f"/proc/{name}/stat").read().rsplit(")", 1)[1].split()[0])
    except OSError:
        pass
print(sum(state != "Z" for state in states))  # a zombie runs nothing: it waits for its parent to reap it
"""


@pytest.mark.skipif(not sandbox.bubblewrap_available(), reason="bubblewrap is not installed")
def test_what_a_cell_leaves_running_is_killed_and_the_kernel_goes_on(tmp_path):
    kernel = SandboxedKernel(str(tmp_path), sandbox.Limits(processes=48))
    try:
        outputs, reply = kernel.execute(STRAYS + RUNNING, timeout=30)
        assert reply["status"] == "ok", outputs
        running = int("".join(output.get("text", "") for output in outputs))
        assert running > 20, "the strays did not start"
        assert kernel.end_strays() >= running - 2  # all but the sandbox's init and the kernel
        outputs, reply = kernel.execute(RUNNING, timeout=30)
        assert reply["status"] == "ok", outputs
        assert "".join(output["text"] for output in outputs).split() == ["2"]  # init and the kernel
        assert kernel.end_strays() == 0
    finally:
        kernel.shutdown()


def test_no_call_is_made_once_the_test_budget_is_spent():
    from grader.judge import RemoteStudent, TestBudget
    budget = TestBudget(5)
    budget.spent = 5.5
    student = RemoteStudent(kernel=None, call_timeout=60, budget=budget)
    with pytest.raises(AssertionError, match="time budget of 5 s was spent"):
        student.call("forward_propagation", 1.0, 2.0)


@pytest.mark.skipif(not os.path.isdir(sandbox.ResourceGroup.ROOTS["pids"]), reason="no cgroup v1 pids controller")
def test_stale_resource_groups_are_swept_and_live_ones_kept():
    import subprocess
    stale, live = sandbox.ResourceGroup(sandbox.Limits()), sandbox.ResourceGroup(sandbox.Limits())
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        for path in live.paths.values():
            with open(os.path.join(path, "cgroup.procs"), "w") as handle:
                handle.write(str(sleeper.pid))
        sandbox.ResourceGroup.sweep_stale(max_age_seconds=0)
        assert stale.paths and not any(os.path.exists(path) for path in stale.paths.values())
        assert all(os.path.exists(path) for path in live.paths.values())
    finally:
        sleeper.kill()
        sleeper.wait()
        for _ in range(50):
            if not live.remaining():
                break
            time.sleep(0.02)
        live.remove()
