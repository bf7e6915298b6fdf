"""Run one submission: its cells in a sandboxed kernel, its graded cells judged here.

The same code serves the plain ``nbgrader autograde`` (``preprocessors.JudgedExecute``) and the
workers of the parallel grader (``parallel.py``). Kernels are started ahead of need by a
``KernelPool``, so a submission rarely waits for one; a kernel never serves two submissions.
"""

import atexit
import compileall
import dataclasses
import functools
import logging
import os
import resource
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass

import nbformat

from . import sandbox, scratch
from .judge import RemoteStudent, TestBudget, first_line, judge_cell, judge_namespace
from .text import printable
from .kernel import KernelDied, KernelTemplate, SandboxedKernel

TIMING_STEPS = ("prepare", "kernel_start", "student_cells", "judging")
MASTER_IGNORE = ("*.ipynb", "__pycache__", ".ipynb_checkpoints")  # never part of a kernel's master files


@dataclass(frozen=True)
class Settings:
    """Time limits of one submission, the kernel's resource limits, and whether to sandbox it.

    Made by preprocessors.JudgedExecute.settings() from its configurable traits, the one place
    where their values are set (nbgrader_config.py or the command line may change them).

    cell_timeout -- seconds one cell of the notebook may run
    notebook_timeout -- seconds all the notebook's own cells may run together
    call_timeout -- seconds one call of a student function from the hidden tests may take
    test_budget -- seconds all those calls of one submission may take together
    warm_template -- fork kernels from a warm template (as root; see grader/template.py)
    """

    cell_timeout: float
    notebook_timeout: float
    call_timeout: float
    test_budget: float
    limits: sandbox.Limits
    use_sandbox: bool = True
    warm_template: bool = True


@dataclass(frozen=True)
class TrustedSources:
    """What the judge runs, taken from the gradebook and never from a submission.

    graded -- dict grade_id -> source of each graded code cell
    setup -- source of the locked setup cell whose names the graded cells use
    """

    graded: dict
    setup: str


def grade_id_of(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_graded(cell: nbformat.NotebookNode) -> bool:
    """nbgrader.utils.is_grade, which this module does not import: a Dask worker would import all of
    nbgrader with it (0.6 CPU-s), and needs none of it."""
    return bool(cell.metadata.get("nbgrader", {}).get("grade", False))


def _error(name, message):
    return nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


@functools.cache
def _font_list():
    """matplotlib's font list, built once by this trusted process, so that kernels need not each
    build their own (~0.1 s of CPU). returns: path of the fontlist-v*.json file"""
    from matplotlib import font_manager
    folder = scratch.scratch_folder("gc-fonts-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = os.path.join(folder, f"fontlist-v{font_manager.FontManager.__version__}.json")
    font_manager.json_dump(font_manager.fontManager, path)
    return path


def _compiled_copy(master_folder):
    """A private copy of the master files with their bytecode compiled, which every kernel's fresh
    copy then shares (kernels may not write bytecode). returns: path"""
    copy = os.path.join(scratch.scratch_folder("gc-master-"), "files")
    shutil.copytree(master_folder, copy, ignore=shutil.ignore_patterns(*MASTER_IGNORE))
    compileall.compile_dir(copy, quiet=1)
    return copy


class _Prepared:
    """A kernel started ahead of need, in its own fresh copy of the master files.

    kernel -- the SandboxedKernel, or None with problem saying why it could not start
    """

    def __init__(self, master_copy, settings, template=None):
        started = time.perf_counter()
        self.workdir = tempfile.mkdtemp(prefix="gc-submission-", dir=template.pool_dir if template else None)
        self.kernel, self.problem, self.prepare_seconds = None, None, 0.0
        try:
            folder = f"{self.workdir}/submission"
            shutil.copytree(master_copy, folder)
            os.makedirs(os.path.join(folder, sandbox.MATPLOTLIB_DIR))
            shutil.copy(_font_list(), os.path.join(folder, sandbox.MATPLOTLIB_DIR))
            self.prepare_seconds = time.perf_counter() - started
            self.kernel = SandboxedKernel(folder, settings.limits, settings.use_sandbox, template=template)
        except KernelDied as error:
            self.problem = str(error)
        except Exception as error:  # noqa: BLE001 -- reported for this submission, never a silent hang
            self.problem = f"the kernel could not be prepared: {type(error).__name__}: {error}"

    def close(self):
        if self.kernel is not None:
            self.kernel.shutdown()
        shutil.rmtree(self.workdir, ignore_errors=True)


class EarlyTemplate:
    """This process's warm template, started before any submission needs it: a Dask worker starts it
    as it starts (worker.dask_setup), while the coordinator is still reading the class.

    Its thread lives as long as the process (bubblewrap's --die-with-parent); the first KernelPool
    that forks from a template takes it (take), and one that nobody took is stopped at exit.
    """

    _lock = threading.Lock()
    _started = None  # the EarlyTemplate, once start() was called

    def __init__(self):
        self.template, self.taken = None, False
        self._done = threading.Event()
        threading.Thread(target=self._own, name="early-template", daemon=True).start()

    def _own(self):
        try:
            self.template = KernelTemplate(_font_list())
        except (KernelDied, OSError) as error:  # the pool starts its own, and says why if that fails too
            logging.getLogger(__name__).info("the early kernel template did not start: %s", error)
        finally:
            self._done.set()
        threading.Event().wait()  # never returns: this thread must outlive the template

    @classmethod
    def start(cls):
        """Start one, in the background, unless one was started or this process cannot use one
        (not root, or no bubblewrap)."""
        with cls._lock:
            if cls._started is None and sandbox.running_as_root() and sandbox.bubblewrap_available():
                cls._started = cls()
                atexit.register(cls._close_untaken)

    @classmethod
    def take(cls):
        """The early template, once started (waits for it: KernelTemplate's own startup_timeout bounds
        that), for the pool that asks first. returns: KernelTemplate, or None if none was started, it
        failed, or another pool took it"""
        with cls._lock:
            early = cls._started
            if early is None or early.taken:
                return None
            early.taken = True
        early._done.wait()
        return early.template

    @classmethod
    def _close_untaken(cls):
        early = cls._started
        if early is not None and not early.taken and early._done.wait(10) and early.template is not None:
            early.template.close()


class KernelPool:
    """Keeps one kernel started ahead of need for a master folder, while submissions keep coming.

    All kernels are started by one long-lived thread: bubblewrap's --die-with-parent is tied to the
    thread that started it, so a short-lived starter thread would take its kernel down with it.
    A kernel that nobody took within idle_seconds of the last submission is stopped, so none
    outlives a batch (a formgrader Autograde in a Jupyter server, say). No wait is unbounded: a
    kernel that does not come within start_timeout, or a starter thread that died, is an error.
    """

    def __init__(self, master_folder, settings, idle_seconds=3.0, start_timeout=120.0):
        if settings.use_sandbox:
            sandbox.ResourceGroup.sweep_stale()
        self.master_copy, self.settings = _compiled_copy(master_folder), settings
        self.idle_seconds, self.start_timeout = idle_seconds, start_timeout
        self._condition = threading.Condition()
        self._ready = None       # the _Prepared kernel waiting for a submission
        self._finished = []      # kernels given back, for the starter thread to stop
        self._wanted = True      # start a kernel as soon as none is ready
        self._busy = 0           # submissions running now
        self._last_finished = time.monotonic()
        self._closed = False
        self.template = None
        self._starter = threading.Thread(target=self._start_kernels, name="kernel-starter", daemon=True)
        self._starter.start()

    def _template(self):
        """(In the starter thread.) The warm template kernels are forked from, when it can be used:
        as root, sandboxed, and asked for; made again if it died. returns: KernelTemplate or None"""
        settings = self.settings
        if not (settings.warm_template and settings.use_sandbox and sandbox.running_as_root()):
            return None
        if self.template is None:
            self.template = EarlyTemplate.take()
        if self.template is None or not self.template.alive:
            if self.template is not None:
                self.template.close()
            self.template = KernelTemplate(_font_list())
        return self.template

    def _start_kernels(self):
        while True:
            with self._condition:
                while not self._closed and not self._finished and not (self._wanted and self._ready is None):
                    self._condition.wait(timeout=self.idle_seconds / 2)
                    self._stop_idle_kernel()
                finished, self._finished = self._finished, []
                start = not self._closed and self._wanted and self._ready is None
                if start:
                    self._wanted = False
            for prepared in finished:
                try:
                    prepared.close()
                except Exception:  # noqa: BLE001 -- one kernel that would not stop must not stop the starter
                    logging.getLogger(__name__).exception("a finished submission's kernel could not be stopped")
            if not start:
                if self._closed:
                    return
                continue
            try:
                template = self._template()
            except KernelDied as error:  # fall back to a fresh kernel, and say so in the log
                logging.getLogger(__name__).warning("kernels start without a warm template: %s", error)
                self.settings = dataclasses.replace(self.settings, warm_template=False)
                template = None
            prepared = _Prepared(self.master_copy, self.settings, template)
            with self._condition:
                self._ready = prepared
                self._condition.notify_all()

    def _stop_idle_kernel(self):
        """(Holding the condition.) Stop the ready kernel if no submission came for idle_seconds."""
        idle = time.monotonic() - self._last_finished >= self.idle_seconds
        if self._ready is not None and self._busy == 0 and idle:
            self._ready.close()
            self._ready = None

    def take(self):
        """A fresh kernel for one submission; the next one starts at once. returns: (_Prepared, seconds waited)

        raises: RuntimeError if no kernel comes within start_timeout or the starter thread died
        """
        clock = time.perf_counter()
        deadline = time.monotonic() + self.start_timeout
        with self._condition:
            self._wanted = True
            self._condition.notify_all()
            while self._ready is None:
                if not self._starter.is_alive():
                    raise RuntimeError("the thread that starts kernels died; see the log above")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RuntimeError(f"no kernel started within {self.start_timeout:g} s")
                self._condition.wait(timeout=min(remaining, 1.0))
            prepared, self._ready = self._ready, None
            self._wanted, self._busy = True, self._busy + 1
            self._condition.notify_all()
        if prepared.kernel is not None and not prepared.kernel.alive:  # died while waiting: start another
            self.give_back(prepared)
            return self.take()
        return prepared, time.perf_counter() - clock

    def give_back(self, prepared):
        """Stop a kernel taken with take() once its submission is done: the starter thread stops it,
        so that the submission's result does not wait for that (about 30 ms)."""
        with self._condition:
            self._finished.append(prepared)
            self._busy -= 1
            self._last_finished = time.monotonic()
            self._condition.notify_all()

    def close(self):
        """Stop the starter, the kernels given back and not yet stopped, and the one that nobody took."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._starter.join(timeout=self.start_timeout)
        with self._condition:
            leftover = self._finished + ([self._ready] if self._ready is not None else [])
            self._finished, self._ready = [], None
        for prepared in leftover:
            prepared.close()
        if self.template is not None:
            self.template.close()
        shutil.rmtree(os.path.dirname(self.master_copy), ignore_errors=True)


_POOLS = {}
_POOLS_LOCK = threading.Lock()


def kernel_pool(master_folder: str, settings: Settings) -> KernelPool:
    """The process's pool for this master folder and these settings (made on first use, closed at exit)."""
    with _POOLS_LOCK:
        key = (master_folder, settings)
        if key not in _POOLS:
            if not _POOLS:  # this process's first grading: clear what killed grading processes left
                swept = scratch.sweep()
                if swept:
                    logging.getLogger(__name__).info("removed %d folders of grading processes that have ended", len(swept))
            _POOLS[key] = KernelPool(master_folder, settings)
        return _POOLS[key]


@atexit.register
def _close_pools():
    for pool in _POOLS.values():
        pool.close()


def run_submission(nb: nbformat.NotebookNode, sources: TrustedSources, pool: KernelPool) -> dict:
    """Execute a sanitized submission notebook and judge its graded cells.

    nb -- the notebook after nbgrader's sanitize step; its cells' outputs are replaced in place
    sources -- TrustedSources from the gradebook
    pool -- the KernelPool to take this submission's fresh kernel from
    returns: the judge's record, a dict with verdicts (grade_id -> verdict), kernel (problem or
             None), seconds, timings (seconds per step in TIMING_STEPS: "prepare" was spent
             ahead of need, before this submission started) and grader_peak_mib
    """
    started = time.time()
    judge = {"verdicts": {}, "kernel": None}
    timings = dict.fromkeys(TIMING_STEPS, 0.0)
    settings = pool.settings
    prepared, waited = pool.take()
    kernel, judge["kernel"] = prepared.kernel, prepared.problem
    timings["prepare"], timings["kernel_start"] = prepared.prepare_seconds, waited
    try:
        deadline = time.monotonic() + settings.notebook_timeout
        student_code = RemoteStudent(kernel, settings.call_timeout, TestBudget(settings.test_budget))
        namespace = judge_namespace(sources.setup, student_code) if kernel else None
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            grade_id = grade_id_of(cell)
            clock = time.perf_counter()
            if grade_id in sources.graded and is_graded(cell):
                _judge(cell, grade_id, sources.graded[grade_id], namespace, judge)
                timings["judging"] += time.perf_counter() - clock
            else:
                _run(cell, kernel, judge, deadline, settings)
                timings["student_cells"] += time.perf_counter() - clock
            if kernel is not None and kernel.alive:
                if judge["kernel"]:
                    kernel.kill()
                else:
                    kernel.end_strays()  # what this cell left running would slow every cell after
    finally:
        pool.give_back(prepared)
    judge["seconds"] = round(time.time() - started, 3)
    judge["timings"] = {step: round(seconds, 3) for step, seconds in timings.items()}
    # the peak resident memory of the process that talked to the kernel, so far
    judge["grader_peak_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return judge


def _run(cell, kernel, judge, deadline, settings):
    if judge["kernel"] or kernel is None:
        cell.outputs = [_error("NotRun", f"Not run: {judge['kernel'] or 'no kernel'}.")]
        return
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        judge["kernel"] = f"the notebook's own cells ran over their {settings.notebook_timeout:g} s limit"
        cell.outputs = [_error("NotRun", f"Not run: {judge['kernel']}.")]
        return
    try:
        outputs, _ = kernel.execute(cell.source, timeout=min(settings.cell_timeout, remaining), store_history=True)
        cell.outputs = [nbformat.from_dict(output) for output in outputs]
    except KernelDied as error:
        judge["kernel"] = f"{error} (in the cell starting {cell.source.strip()[:60]!r})"
        cell.outputs = [_error("KernelDied", f"The kernel stopped here: {error}.")]


def _judge(cell, grade_id, source, namespace, judge):
    cell.source = source  # the trusted version, whatever the submission held
    if namespace is None:
        passed, message = False, f"Not run: {judge['kernel']}."
    elif judge["kernel"]:
        passed, message = False, f"Not run: the kernel stopped before this test ({judge['kernel']})."
    else:
        passed, message = judge_cell(source, namespace, grade_id)
        if not passed and not namespace["student_code"].kernel.alive and not judge["kernel"]:
            judge["kernel"] = "the kernel died during this test"
    points = float(cell.metadata.nbgrader.get("points", 0))
    message = printable(message, 2000)  # it may quote the student's own exception
    judge["verdicts"][grade_id] = {"checks": first_line(source), "passed": passed,
                                   "score": points if passed else 0.0, "max_score": points,
                                   "message": message}
    cell.outputs = ([nbformat.v4.new_output("stream", name="stdout", text=f"Passed: {first_line(source)}\n")]
                    if passed else [_error("TestFailed", message)])
