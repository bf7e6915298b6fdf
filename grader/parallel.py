"""Autograde a whole class in parallel on a Dask cluster; one coordinator writes every result.

    python -m grader.parallel gradient_checking [--workers N | --scheduler tcp://host:8786] [--force]
                              [--feedback] [nbgrader options, e.g. --CourseDirectory.root=/srv/course]

Run it where ``nbgrader autograde`` would run (the course root, or with --CourseDirectory.root).
Without --scheduler it starts a LocalCluster with one single-threaded worker per core.

1. The coordinator (this process) lists submitted/<student>/<assignment>/ and skips submissions
   graded before whose files, master files, hidden tests and limits are all unchanged.
2. For each other submission it runs the intake hook and nbgrader's own sanitize step, then sends
   the sanitized notebook to a worker. The master files, the trusted test sources and the limits
   travel once per worker, as data: workers need this package installed, not the course folder.
3. A worker runs ``execution.run_submission``, the same sandboxed execution and trusted judging as
   plain ``nbgrader autograde``, and returns the executed notebook and the judge's record.
4. The coordinator then runs nbgrader's own ``Autograde`` converter for that student, with
   ``ReplayExecution`` in place of ``JudgedExecute``. So autograded/, the grading reports and the
   gradebook rows are written by the same code, in one process, as in a serial run; with
   --feedback, nbgrader's GenerateFeedback then writes that student's feedback/ too.

A task lost with a worker is run again (by Dask, and once more by the coordinator if Dask gives
up); a submission is committed once. At most a few tasks per worker are in flight, so the
coordinator's memory does not grow with the class.
"""

import argparse
import contextlib
import fnmatch
import glob
import hashlib
import io
import json
import logging
import os
import resource
import sys
import tarfile
import tempfile
import threading
import time

import nbformat
from nbgrader.apps.autogradeapp import AutogradeApp
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.preprocessors import NbGraderPreprocessor

from . import execution, intake, late, nbgrader_adapter, sandbox
from .course import REPORT_NAME
from .preprocessors import JudgedExecute, master_folder, trusted_sources

JUDGED_EXECUTE = "grader.preprocessors.JudgedExecute"
IN_FLIGHT_PER_WORKER = 2
RESULTS = {}  # (student, assignment, notebook) -> worker result, waiting for ReplayExecution


def notebook_digest(nb: nbformat.NotebookNode) -> str:
    """sha256 of what a worker executes: every cell's type, source and nbgrader metadata."""
    cells = [(cell.cell_type, cell.source, cell.metadata.get("nbgrader", {})) for cell in nb.cells]
    return hashlib.sha256(json.dumps(cells, sort_keys=True).encode("utf-8")).hexdigest()


def folder_fingerprint(folder: str, salt: str = "") -> str:
    """sha256 of every file under folder (paths and bytes), and salt."""
    digest = hashlib.sha256(salt.encode("utf-8"))
    for path in sorted(glob.glob(os.path.join(folder, "**"), recursive=True)):
        if os.path.isfile(path):
            digest.update(os.path.relpath(path, folder).encode("utf-8") + b"\0")
            with open(path, "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


# ---------------------------------------------------------------- on the workers

_UNPACK_LOCK = threading.Lock()
_MASTERS = {}  # bundle digest -> folder, unpacked by this worker process


def _unpack_master(bundle):
    """The master files, unpacked once per worker process into a private new folder. returns: path"""
    with _UNPACK_LOCK:
        if bundle["digest"] not in _MASTERS:
            folder = tempfile.mkdtemp(prefix="gc-master-")  # unpredictable: nobody can plant files there
            with tarfile.open(fileobj=io.BytesIO(bundle["archive"]), mode="r:gz") as archive:
                _extract_plain_files(archive, folder)
            _MASTERS[bundle["digest"]] = folder
        return _MASTERS[bundle["digest"]]


def _extract_plain_files(archive, folder):
    """Extract an archive of regular files and folders only, never outside folder (Python 3.11.2,
    Debian's, has no tarfile extraction filters)."""
    for member in archive.getmembers():
        target = os.path.realpath(os.path.join(folder, member.name))
        if not (member.isfile() or member.isdir()) or not target.startswith(os.path.realpath(folder) + os.sep):
            raise ValueError(f"the master files' archive holds {member.name!r}, which is not a plain file")
    archive.extractall(folder)


def grade_on_worker(notebook_json: str, notebook_id: str, bundle: dict) -> dict:
    """A Dask task: execute and judge one sanitized notebook.

    returns: dict with notebook (the executed notebook, JSON text), judge (execution.run_submission's
             record) and worker (host and pid, for the log)
    """
    settings = bundle["settings"]
    if settings.use_sandbox and not sandbox.bubblewrap_available():
        raise sandbox.SandboxUnavailable(f"bubblewrap is not installed on worker {os.uname().nodename}")
    pool = execution.kernel_pool(_unpack_master(bundle), settings)
    nb = nbformat.reads(notebook_json, as_version=4)
    judge = execution.run_submission(nb, bundle["sources"][notebook_id], pool)
    return {"notebook": nbformat.writes(nb), "judge": judge, "worker": f"{os.uname().nodename}:{os.getpid()}"}


def worker_cpu_seconds() -> float:
    """CPU seconds this worker process has used (its kernels not included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- in the coordinator

class ReplaySanitized(NbGraderPreprocessor):
    """Instead of the sanitize step, in the coordinator: the notebook sanitized at dispatch.

    Dispatch ran nbgrader's own sanitize preprocessors on the same files; none of them writes to the
    gradebook, so running them again would only repeat the work.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        result = RESULTS[(info["student"], info["assignment"], info["notebook"])]
        return nbformat.reads(result["sanitized"], as_version=4), resources


class ReplayExecution(NbGraderPreprocessor):
    """Instead of JudgedExecute, in the coordinator: the worker's execution of this notebook."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        result = RESULTS.pop((info["student"], info["assignment"], info["notebook"]))
        if notebook_digest(nb) != result["digest"]:
            raise RuntimeError(f"{info['student']}: the notebook changed between dispatch and commit")
        nb.cells = nbformat.reads(result["notebook"], as_version=4).cells
        resources["judge"] = {**result["judge"], "fingerprint": result["fingerprint"]}
        return nb, resources


def _no_hook(**_):
    """The intake hook already ran when the submission was dispatched."""


class Coordinator:
    """Dispatches a class to a Dask client and commits each result through nbgrader's converter."""

    def __init__(self, app, client, force=False, feedback=False, progress=None):
        self.app, self.client, self.force, self.feedback = app, client, force, feedback
        self.coursedir = app.coursedir
        self.assignment = self.coursedir.assignment_id
        self.progress = progress or Progress(0)
        self.settings = JudgedExecute(parent=app).settings()
        self.notebook_name = intake.load_release(self.coursedir, self.assignment)
        self.bundle = self._bundle()
        self.bundle_future = client.scatter(self.bundle, broadcast=True, hash=False)
        self.failed, self.skipped, self.graded, self.executions = {}, [], [], 0
        self.in_flight = {}  # future key -> what the commit needs to know about that task
        self.busy = {"dispatch": 0.0, "commit": 0.0}  # the coordinator's own seconds per step
        self.committed_at = []  # time.monotonic() of each commit, for the median interval

    # -- what every task needs, sent once
    def _bundle(self):
        folder = master_folder(self.coursedir, self.assignment)
        buffer, digest = io.BytesIO(), hashlib.sha256()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for path in sorted(glob.glob(os.path.join(folder, "**"), recursive=True)):
                relative = os.path.relpath(path, folder)
                ignored = any(fnmatch.fnmatch(part, pattern) for part in relative.split(os.sep) for pattern in execution.MASTER_IGNORE)
                if os.path.isfile(path) and not ignored:
                    archive.add(path, arcname=relative)
                    with open(path, "rb") as handle:
                        digest.update(relative.encode("utf-8") + b"\0" + hashlib.sha256(handle.read()).digest())
        notebooks = [os.path.splitext(os.path.basename(path))[0] for path in glob.glob(os.path.join(folder, "*.ipynb"))]
        setup_cell = JudgedExecute(parent=self.app).setup_cell
        sources = {notebook: trusted_sources(self.coursedir.db_url, notebook, self.assignment, setup_cell)
                   for notebook in notebooks}
        # Anything that changes a grade without changing a submission: tests, limits, the release
        # skeleton that intake lays submissions onto, the due date and the late policy.
        digest.update(repr((sorted(sources.items()), self.settings,
                            late.policy_fingerprint(self.app.config, self.assignment))).encode("utf-8"))
        with open(os.path.join(self.coursedir.format_path(self.coursedir.release_directory, ".", self.assignment),
                               self.notebook_name), "rb") as handle:
            digest.update(hashlib.sha256(handle.read()).digest())
        return {"archive": buffer.getvalue(), "digest": digest.hexdigest(), "sources": sources, "settings": self.settings}

    def submissions(self):
        """Student ids with a folder for this assignment in submitted/ (notebook or not), sorted."""
        return [os.path.basename(os.path.dirname(folder)) for folder in nbgrader_adapter.submission_folders(self.coursedir)]

    def _folder(self, student, step):
        return self.coursedir.format_path(step, student, self.assignment)

    def _unchanged(self, student, fingerprint):
        report = os.path.join(self._folder(student, self.coursedir.autograded_directory), REPORT_NAME)
        try:
            with open(report) as handle:
                return json.load(handle).get("fingerprint") == fingerprint
        except (OSError, ValueError):
            return False

    def _converter(self, replay=False):
        """nbgrader's Autograde converter; with replay, it takes the sanitized and executed notebooks
        from RESULTS instead of computing them."""
        converter = Autograde(coursedir=self.coursedir, parent=self.app)
        converter.force, converter.pre_convert_hook = True, _no_hook
        if replay:
            converter.sanitize_preprocessors = [ReplaySanitized]
            converter.autograde_preprocessors = [ReplayExecution if step == JUDGED_EXECUTE else step
                                                 for step in converter.autograde_preprocessors]
        return converter

    def dispatch(self, student):
        """Intake, sanitize and send one submission.

        returns: the task's Future; "unchanged" when graded before and unchanged; or None when there
                 is nothing to send (no notebook, or sanitize failed: the commit then reports it as
                 nbgrader would)
        """
        folder = self._folder(student, self.coursedir.submitted_directory)
        record = intake.take_in(folder, self.notebook_name)
        fingerprint = folder_fingerprint(folder, salt=self.bundle["digest"])
        if not self.force and self._unchanged(student, fingerprint):
            intake.forget(student, self.assignment)
            return "unchanged"
        if record.failed:
            return None  # the commit meets the same refusal and reports it as nbgrader would
        converter = self._converter()
        converter.exporter = converter.exporter_class(parent=converter, config=converter.config)
        converter._sanitizing = True
        converter._init_preprocessors()
        path = os.path.join(folder, self.notebook_name)
        try:
            output, resources = converter.exporter.from_filename(path, resources=converter.init_single_notebook_resources(path))
        except Exception as error:  # nbgrader's commit will meet the same problem and report it
            logging.getLogger(__name__).debug("sanitize failed for %s: %s", student, error)
            return None
        meta = {"student": student, "notebook": resources["nbgrader"]["notebook"], "notebook_json": output,
                "digest": notebook_digest(nbformat.reads(output, as_version=4)), "fingerprint": fingerprint,
                "folder": folder}
        return self._submit(meta, attempt=1)

    def _submit(self, meta, attempt):
        # The notebook goes as scattered data, not inside the task: the scheduler keeps recent task
        # graphs for its diagnostics, and would otherwise keep every notebook with them.
        notebook = self.client.scatter(meta["notebook_json"], hash=False)
        future = self.client.submit(grade_on_worker, notebook, meta["notebook"], self.bundle_future,
                                    pure=False, key=f"grade-{meta['student']}-{attempt}-{os.urandom(4).hex()}")
        self.in_flight[future.key] = {**meta, "attempt": attempt, "scattered": notebook}
        return future

    def commit(self, student, meta=None, result=None):
        """Write one submission through nbgrader's Autograde converter. returns: error message or None"""
        if result is not None:
            if folder_fingerprint(meta["folder"], salt=self.bundle["digest"]) != meta["fingerprint"]:
                return "its files changed while it was being graded; run again to grade the new version"
            RESULTS[(student, self.assignment, meta["notebook"])] = {
                **result, "sanitized": meta["notebook_json"], "digest": meta["digest"],
                "fingerprint": meta["fingerprint"]}
        self.coursedir.student_id = student
        try:
            with contextlib.chdir(self.coursedir.root):
                self._converter(replay=result is not None).start()
        except Exception as error:
            return f"nbgrader could not autograde it: {type(error).__name__}: {error}"
        finally:
            RESULTS.pop((student, self.assignment, meta["notebook"]) if meta else None, None)
            intake.forget(student, self.assignment)
        if self.feedback:
            try:
                with contextlib.chdir(self.coursedir.root):
                    feedback = GenerateFeedback(coursedir=self.coursedir, parent=self.app)
                    feedback.force = True
                    feedback.start()
            except Exception as error:
                return f"graded, but nbgrader could not write its feedback: {type(error).__name__}: {error}"
        return None

    def run(self, students):
        """Grade these students; returns when every one is committed, skipped or failed."""
        from distributed import as_completed

        window = IN_FLIGHT_PER_WORKER * max(1, sum(self.client.nthreads().values()))
        pending = iter(students)
        running = as_completed()
        self.progress.start(len(students))

        def refill():
            while running.count() < window:
                student = next(pending, None)
                if student is None:
                    return
                clock = time.perf_counter()
                outcome = self.dispatch(student)
                self.busy["dispatch"] += time.perf_counter() - clock
                if outcome == "unchanged":
                    self.skipped.append(student)
                    self.progress.advance(skipped=True)
                elif outcome is None:
                    self._finish(student, self.commit(student))
                else:
                    running.add(outcome)

        refill()
        for future in running:
            meta = self.in_flight.pop(future.key)
            meta.pop("scattered").release()
            student = meta["student"]
            try:
                result = future.result()
                self.executions += 1
            except Exception as error:
                future.release()
                if meta["attempt"] < 2:  # once more, on whichever worker is free
                    running.add(self._submit(meta, attempt=2))
                else:
                    self._finish(student, f"the cluster could not run it twice: {type(error).__name__}: {error}")
                refill()
                continue
            future.release()
            clock = time.perf_counter()
            self._finish(student, self.commit(student, meta, result))
            self.busy["commit"] += time.perf_counter() - clock
            refill()
        self.progress.finish()

    def _finish(self, student, error):
        self.committed_at.append(time.monotonic())
        if error:
            self.failed[student] = error
        else:
            self.graded.append(student)
        self.progress.advance(failed=bool(error))


class Progress:
    """A progress line on stderr: counts, rate and ETA (rewritten in place on a terminal)."""

    def __init__(self, total, stream=sys.stderr, every=10.0):
        self.total, self.stream, self.every = total, stream, every
        self.done = self.skipped = self.failed = 0
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def start(self, total):
        self.total, self.started, self.printed = total, time.monotonic(), 0.0
        self._show(force=True)

    def advance(self, skipped=False, failed=False):
        self.done += 1
        self.skipped += skipped
        self.failed += failed
        self._show(force=self.done == self.total)

    def line(self):
        elapsed = time.monotonic() - self.started
        worked = self.done - self.skipped
        rate = worked / elapsed if worked and elapsed > 0 else 0.0
        left = self.total - self.done
        eta = f"{left / rate:.0f} s" if rate else "?"
        bar = "#" * int(30 * self.done / self.total) if self.total else ""
        return (f"[{bar:<30}] {self.done}/{self.total} ({self.skipped} unchanged, {self.failed} failed) "
                f"{rate:.2f}/s, {elapsed:.0f} s elapsed, ETA {eta}")

    def _show(self, force=False):
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self.line())
        elif force or now - self.printed >= self.every:
            self.stream.write(self.line() + "\n")
            self.printed = now
        self.stream.flush()

    def finish(self):
        if self.tty:
            self.stream.write("\n")


def make_app(assignment: str, nbgrader_args: list[str]) -> AutogradeApp:
    """An initialised nbgrader autograde app: the course's configuration, as `nbgrader autograde` reads it."""
    app = AutogradeApp()
    app.initialize([assignment, *nbgrader_args])
    app.coursedir.assignment_id = assignment
    if JUDGED_EXECUTE not in app.config.Autograde.get("autograde_preprocessors", []):
        raise SystemExit(f"nbgrader_config.py must autograde with {JUDGED_EXECUTE}; the parallel grader replaces it")
    return app


def make_client(scheduler: str | None = None, workers: int | None = None):
    """A Dask client: to the scheduler at that address, or to a new LocalCluster on loopback."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout=30)
    dask.config.set({"distributed.scheduler.allowed-failures": 1})
    cluster = LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None, memory_limit=0)
    return Client(cluster)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (default: a LocalCluster)")
    parser.add_argument("--workers", type=int, help="LocalCluster workers (default: one per core)")
    parser.add_argument("--force", action="store_true", help="regrade submissions that are unchanged too")
    parser.add_argument("--feedback", action="store_true",
                        help="also write each graded student's feedback (as nbgrader generate_feedback)")
    args, nbgrader_args = parser.parse_known_args(argv)
    app = make_app(args.assignment, nbgrader_args)
    app.log.setLevel(logging.ERROR)  # per-submission notes go to the grading reports instead
    started = time.perf_counter()
    client = make_client(args.scheduler, args.workers)
    try:
        coordinator = Coordinator(app, client, force=args.force, feedback=args.feedback, progress=Progress(0))
        students = coordinator.submissions()
        workers = sum(client.nthreads().values())
        print(f"Grading {len(students)} submissions of {args.assignment} on {workers} Dask worker threads "
              f"({args.scheduler or 'LocalCluster'})", file=sys.stderr)
        coordinator.run(students)
        workers_cpu = sum(client.run(worker_cpu_seconds).values())
    finally:
        cluster = client.cluster
        client.close()
        if cluster is not None and not args.scheduler:
            cluster.close()
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    intervals = sorted(b - a for a, b in zip(coordinator.committed_at, coordinator.committed_at[1:]))
    peak_mib = usage.ru_maxrss / 1024
    summary = {"submissions": len(students), "graded": len(coordinator.graded),
               "unchanged": len(coordinator.skipped), "failed": coordinator.failed,
               "executions": coordinator.executions, "seconds": round(seconds, 2),
               "median_seconds_between_commits": round(intervals[len(intervals) // 2], 3) if intervals else None,
               "coordinator_peak_mib": round(peak_mib, 1),
               "coordinator_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
               "workers_cpu_seconds": round(workers_cpu, 2),
               "coordinator_busy_seconds": {step: round(value, 2) for step, value in coordinator.busy.items()}}
    print(json.dumps(summary), file=sys.stderr)
    for student, error in coordinator.failed.items():
        print(f"NOT GRADED {student}: {error}", file=sys.stderr)
    return 1 if coordinator.failed else 0


if __name__ == "__main__":
    # Through the package, so that Dask sends grade_on_worker by reference, never pickled by value.
    from grader.parallel import main as package_main
    sys.exit(package_main())
