"""The sandbox itself: what a kernel can see and do, and the refusal to grade without one."""

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import REPO_ROOT
from grader import execution, sandbox
from grader.kernel import KernelDied, KernelTemplate, SandboxedKernel

needs_bubblewrap = pytest.mark.skipif(not sandbox.bubblewrap_available(), reason="bubblewrap is not installed")


@pytest.fixture(scope="module")
def template():
    """A warm kernel template, as the grader makes one per pool (it takes root)."""
    if not (sandbox.bubblewrap_available() and sandbox.running_as_root()):
        pytest.skip("the warm template is used only as root, with bubblewrap")
    made = KernelTemplate(execution._font_list())
    yield made
    made.close()


@pytest.fixture(params=["bubblewrap", "template"])
def new_kernel(request, tmp_path):
    """Makes kernels both ways: each in a bubblewrap of its own, or forked from the warm template.
    returns: function(files: dict name -> text, limits) -> SandboxedKernel in a fresh folder"""
    if not sandbox.bubblewrap_available():
        pytest.skip("bubblewrap is not installed")
    template_made = request.getfixturevalue("template") if request.param == "template" else None
    kernels = []

    def make(files=None, limits=sandbox.Limits(memory_bytes=1024 ** 3)):
        parent = tempfile.mkdtemp(dir=template_made.pool_dir if template_made else tmp_path)
        folder = os.path.join(parent, "submission")
        os.makedirs(folder)
        for name, text in (files or {}).items():
            with open(os.path.join(folder, name), "w") as handle:
                handle.write(text)
        kernels.append(SandboxedKernel(folder, limits, template=template_made))
        return kernels[-1]

    yield make
    for kernel in kernels:
        kernel.shutdown()
        assert not kernel.alive


def printed(kernel, code):
    """What code printed in the kernel (it must succeed). returns: str"""
    outputs, reply = kernel.execute(code, timeout=30)
    assert reply["status"] == "ok", outputs
    return "".join(output.get("text", "") for output in outputs)


def master_pool():
    """A KernelPool on the assignment's master files, sandboxed, forking from a warm template (as root)."""
    settings = execution.Settings(30, 300, 30, 60, sandbox.Limits(), use_sandbox=True, warm_template=True)
    return execution.KernelPool(os.path.join(REPO_ROOT, "source", "gradient_checking"), settings)


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


def test_a_sandboxed_kernel_sees_only_its_folder(new_kernel):
    kernel = new_kernel({"mine.txt": "mine"})
    code = ("import os, socket\n"
            "print(os.getuid(), open('mine.txt').read(), os.path.exists(%r), os.path.exists(%r))\n"
            "try:\n    socket.create_connection(('127.0.0.1', 1), timeout=1)\n"
            "except OSError as error:\n    print(type(error).__name__)\n"
            "try:\n    bytearray(2 * 1024 ** 3)\nexcept MemoryError:\n    print('MemoryError')\n"
            % (os.path.join(REPO_ROOT, "source"), os.path.join(REPO_ROOT, "nbgrader_config.py")))
    assert printed(kernel, code).split() == [str(kernel.uid_lease.uid), "mine", "False", "False",
                                             "ConnectionRefusedError", "MemoryError"]
    with pytest.raises(KernelDied, match="died"):
        kernel.execute("import os; os._exit(7)", timeout=30)


SANDBOX_FACTS = """
import glob, os, resource, socket, sys
print("interfaces", [name for _, name in socket.if_nameindex()])
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
print("cwd", os.getcwd())
print("processes", sorted(int(name) for name in os.listdir("/proc") if name.isdigit()))
print("capabilities", *(status[name].strip() for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")),
      "no_new_privs", status["NoNewPrivs"].strip())
print("nproc", resource.getrlimit(resource.RLIMIT_NPROC)[0], "as", resource.getrlimit(resource.RLIMIT_AS)[0])
for path in ("/evil", "/usr/evil", os.path.join(os.path.dirname(os.getcwd()), "evil")):
    try:
        open(path, "w")
        print("WROTE", path)
    except OSError:
        pass
print("python", "read-only" if os.statvfs(sys.prefix).f_flag & os.ST_RDONLY else "writable", sys.prefix)
print("folders", sorted(glob.glob("/var/tmp/gc-pool-*/*/submission") + glob.glob("/var/tmp/gc-pool-*/*/*/secret.txt")))
"""


def test_every_kernel_has_the_whole_sandbox(new_kernel):
    """Forked or fresh: its own folder, network and PID namespaces and uid; no capabilities; its
    limits and groups; nothing writable outside its folder and /tmp."""
    new_kernel({"secret.txt": "another student's"})  # a neighbour in the same pool
    kernel = new_kernel()
    facts = dict(line.split(" ", 1) for line in printed(kernel, SANDBOX_FACTS).splitlines())
    assert facts.pop("cwd") == "/submission"
    assert facts.pop("interfaces") == "['lo']"  # a network namespace of its own, with loopback only
    assert facts.pop("processes") == "[1, 2]"  # the sandbox's init and the kernel
    assert facts.pop("capabilities") == " ".join(["0000000000000000"] * 5) + " no_new_privs 1"
    assert facts.pop("nproc") == f"{sandbox.Limits.processes} as {1024 ** 3}"
    assert kernel.group.paths and len(kernel.group.remaining()) >= 2  # the kernel's processes are in its groups
    assert facts.pop("folders") == "[]"  # no other kernel's folder, in the template's pool or elsewhere
    assert facts.pop("python") == f"read-only {sys.prefix}"  # the venv, even where it lies under /tmp
    assert facts == {}, facts  # nothing written outside /submission and /tmp


def test_every_kernel_starts_with_the_graders_options(new_kernel):
    """Forked or fresh, a kernel runs with sandbox.KERNEL_ARGUMENTS: no history database."""
    assert printed(new_kernel(), "print(get_ipython().history_manager.enabled)") == "False\n"


def test_no_kernel_holds_anything_of_another(new_kernel):
    first = new_kernel()
    printed(first, "import numpy, sys\nnumpy.LEAKED = 1\nsys.modules['leak'] = sys\n"
                   "open('/tmp/leak', 'w').write('x')\nopen('leak', 'w').write('x')")
    first_draw = printed(first, "import numpy; print(numpy.random.rand())")
    second = new_kernel()
    facts = printed(second, "import numpy, os, sys\n"
                            "print(hasattr(numpy, 'LEAKED'), 'leak' in sys.modules, os.path.exists('/tmp/leak'), "
                            "os.path.exists('leak'), numpy.random.rand())").split()
    assert facts[:4] == ["False"] * 4
    assert facts[4] != first_draw.strip()  # each kernel's random state is its own


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


def test_what_a_cell_leaves_running_is_killed_and_the_kernel_goes_on(new_kernel):
    kernel = new_kernel(limits=sandbox.Limits(processes=48))
    running = int(printed(kernel, STRAYS + RUNNING))
    assert running > 20, "the strays did not start"
    assert kernel.end_strays() >= running - 2  # all but the sandbox's init and the kernel
    assert printed(kernel, RUNNING).split() == ["2"]  # init and the kernel
    assert kernel.end_strays() == 0


def test_the_template_lets_no_kernel_inherit_a_writable_file(tmp_path):
    """A descriptor the template holds beyond the read-only files of the system stops it at start."""
    script = ("import sys; from grader import template\n"
              f"held = open({str(tmp_path / 'held.txt')!r}, 'w')\n"
              "template._check_inherited_files([])")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and "held.txt" in result.stderr and "must not inherit" in result.stderr
    read_only = subprocess.run([sys.executable, "-c", script.replace(f"{str(tmp_path / 'held.txt')!r}, 'w'",
                                                                      f"{sys.executable!r}, 'rb'")],
                               cwd=REPO_ROOT, capture_output=True, text=True)
    assert read_only.returncode == 0, read_only.stderr


@needs_bubblewrap
def test_without_a_template_kernels_start_fresh_and_the_log_says_why(monkeypatch, caplog):
    if not sandbox.running_as_root():
        pytest.skip("the warm template is used only as root")
    monkeypatch.setattr(sandbox, "template_command", lambda pool_dir, template_file: ["false"])
    pool = master_pool()
    try:
        with caplog.at_level(logging.WARNING):
            prepared, _ = pool.take()
        try:
            assert prepared.problem is None and prepared.kernel.alive
            assert printed(prepared.kernel, "print(6 * 7)") == "42\n"
        finally:
            pool.give_back(prepared)
    finally:
        pool.close()
    assert "without a warm template" in caplog.text and "did not start" in caplog.text



@needs_bubblewrap
def test_a_forked_kernel_imports_nothing_the_template_could_have_but_the_helpers():
    """The template imports every module a kernel needs to start and to run the notebook (ipykernel's
    debugger was two thirds of each kernel's start): a kernel forked from it that ran the master
    notebook's cells (all but the tests, which the judge runs) has imported only the course's helpers,
    from its own folder."""
    if not sandbox.running_as_root():
        pytest.skip("the warm template is used only as root")
    import nbformat

    from grader.course import notebook_path

    in_template = subprocess.run(
        [sys.executable, "-c", "import sys; from grader import template; template.warm(); print(*sys.modules)"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.split()
    pool = master_pool()
    try:
        prepared, _ = pool.take()
        try:
            assert pool.template is not None and prepared.problem is None
            for cell in nbformat.read(notebook_path(REPO_ROOT, "source"), as_version=4).cells:
                if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade"):
                    outputs, reply = prepared.kernel.execute(cell.source, timeout=60, store_history=True)
                    assert reply["status"] == "ok", outputs
            in_kernel = printed(prepared.kernel, "import sys; print(*sys.modules)").split()
        finally:
            pool.give_back(prepared)
    finally:
        pool.close()
    imported_by_kernel = sorted(set(in_kernel) - set(in_template))
    assert imported_by_kernel and all(name.split(".")[0] == "helpers" for name in imported_by_kernel), imported_by_kernel


@needs_bubblewrap
def test_a_dask_worker_starts_its_template_at_once_and_its_first_pool_forks_from_it(monkeypatch):
    """worker.dask_setup (Dask's preload hook) starts the template before any submission; the first
    pool takes that one and starts none of its own; closing the pool stops it."""
    if not sandbox.running_as_root():
        pytest.skip("the warm template is used only as root")
    from grader import worker
    monkeypatch.setattr(execution.EarlyTemplate, "_started", None)  # this process may have started one
    worker.dask_setup(None)
    early = execution.EarlyTemplate._started
    assert early is not None and early._done.wait(120) and early.template.alive
    made = []
    monkeypatch.setattr(execution, "KernelTemplate", lambda *args, **kwargs: made.append(args))
    pool = master_pool()
    try:
        prepared, _ = pool.take()
        try:
            assert prepared.problem is None and printed(prepared.kernel, "print(6 * 7)") == "42\n"
        finally:
            pool.give_back(prepared)
        assert pool.template is early.template and not made
        assert execution.EarlyTemplate.take() is None  # one pool takes it, no other
    finally:
        pool.close()
    assert not early.template.alive and not os.path.exists(early.template.pool_dir)


@needs_bubblewrap
def test_a_kernel_given_back_is_stopped_by_the_pool_and_none_is_left_after_close():
    """give_back returns at once (the pool's starter thread stops the kernel); close stops those
    given back and not yet stopped, and the one started ahead of need."""
    pool = master_pool()
    try:
        first, _ = pool.take()
        second, _ = pool.take()
        pool.give_back(first)
        deadline = time.monotonic() + 30
        while first.kernel.alive and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not first.kernel.alive and not os.path.exists(first.workdir)
        assert second.kernel.alive
        pool.give_back(second)
    finally:
        pool.close()
    assert not second.kernel.alive and not os.path.exists(second.workdir)
    assert pool._ready is None and not pool._finished


@needs_bubblewrap
def test_an_early_template_that_no_pool_took_is_stopped_when_its_process_exits():
    if not sandbox.running_as_root():
        pytest.skip("the warm template is used only as root")
    script = ("from grader import execution, worker\n"
              "worker.dask_setup(None)\n"
              "early = execution.EarlyTemplate._started\n"
              "assert early._done.wait(120) and early.template.alive\n"
              "print(early.template.process.pid, early.template.pool_dir)")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    pid, pool_dir = result.stdout.split()
    assert not os.path.exists(f"/proc/{pid}") and not os.path.exists(pool_dir)


def test_a_template_whose_output_ends_is_taken_for_ended_at_once(monkeypatch):
    """A process closes its output before it can be reaped; the wait for the template must end at
    the end of its output, not at its timeout (a race that once cost a test run 120 s)."""
    monkeypatch.setattr(sandbox, "template_command", lambda pool_dir, template_file: ["sh", "-c", "exec >&-; sleep 5"])
    started = time.monotonic()
    with pytest.raises(KernelDied, match="did not start:"):
        KernelTemplate(execution._font_list(), startup_timeout=30)
    assert time.monotonic() - started < 4

@pytest.fixture
def pool_kernel():
    """A kernel of a KernelPool on the master files (forked from the template as root), as the judge
    gets one, with two functions defined and a count of the cells it ran."""
    if not sandbox.bubblewrap_available():
        pytest.skip("bubblewrap is not installed")
    pool = master_pool()
    prepared, _ = pool.take()
    assert prepared.problem is None
    printed(prepared.kernel, "import time\n"
                             "cells_run = []\n"
                             "get_ipython().events.register('pre_run_cell', lambda info: cells_run.append(1))\n"
                             "def double(x):\n    return 2 * x\n"
                             "def stall(x):\n    time.sleep(60)\n")
    yield prepared.kernel
    pool.give_back(prepared)
    pool.close()


def cells_run(kernel):
    outputs, reply = kernel.execute("len(cells_run) - 1", timeout=30)  # (this cell is counted too)
    return int(outputs[0]["data"]["text/plain"])


def test_the_judge_calls_through_its_request_handler_not_cells_and_interrupts_a_stalled_call(pool_kernel):
    from grader.judge import RemoteStudent, TestBudget
    student = RemoteStudent(pool_kernel, call_timeout=2, budget=TestBudget(30))
    before = cells_run(pool_kernel)
    assert student.call("double", 21) == 42 and student.call("double", 0.5) == 1.0
    assert student.handler is True
    with pytest.raises(AssertionError, match="stall took longer than 2 s and was interrupted"):
        student.call("stall", 1)
    assert pool_kernel.alive and student.call("double", 4) == 8
    assert cells_run(pool_kernel) - before == 2  # the handler's installation (and the count's own cell)


def test_a_kernel_without_the_request_handler_is_called_through_cells(pool_kernel):
    """Course helpers older than install(), or a student's cells that change how the kernel runs
    code: the calls go through cells, as before the handler, and are judged the same."""
    from grader.judge import RemoteStudent, TestBudget
    printed(pool_kernel, "import helpers.protocol\ndel helpers.protocol.install")
    student = RemoteStudent(pool_kernel, call_timeout=2, budget=TestBudget(30))
    assert student.call("double", 21) == 42 and student.handler is False
    with pytest.raises(AssertionError, match="stall took longer than 2 s and was interrupted"):
        student.call("stall", 1)
    assert pool_kernel.alive and student.call("double", 4) == 8


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
