"""The coordinator of parallel grading: it dispatches each submission to a Dask worker and commits
each result, in this one process.

For each submission: intake and nbgrader's sanitize step (dispatch), the sanitized notebook to a
worker (worker.grade_on_worker), then the commit (commit.py): autograded/, the grading report and
the gradebook rows as nbgrader's Autograde converter writes them, and with feedback, nbgrader's
GenerateFeedback for that student. A task lost with a worker is run again once; a submission is
committed once; at most IN_FLIGHT_PER_WORKER tasks per worker are in flight, so memory does not
grow with the class. Several coordinators can share one cluster and one gradebook, each grading
one shard of the class (``in_shard``): parallel.py --coordinators.
"""

import gc
import glob
import json
import logging
import os
import sys
import time
import zlib

from . import commit, fingerprint, intake, late, nbgrader_adapter, worker
from .course import REPORT_NAME
from .preprocessors import JudgedExecute, master_folder, trusted_sources

IN_FLIGHT_PER_WORKER = 2
# how submissions are sanitized at dispatch and committed: (sanitize, commit), both of commit.py
COMMITS = {"direct": (commit.DirectSanitize, commit.DirectCommit),
           "nbgrader": (commit.ConverterSanitize, commit.ConverterCommit)}


def in_shard(student: str, shard: tuple[int, int]) -> bool:
    """Whether a student is in shard (index, count) of a class: a split by the student's id alone
    (crc32), so every coordinator process makes the same one."""
    index, count = shard
    return zlib.crc32(student.encode("utf-8")) % count == index


class Coordinator:
    """Dispatches a class to a Dask client and commits each result (commit.py).

    commit_with -- "direct" (commit.DirectSanitize and DirectCommit, and one feedback converter
                   for the class) or "nbgrader" (nbgrader's own converters, new for each student)
    shard -- (index, count): grade only the students in_shard of it (default: the whole class)
    """

    task = staticmethod(worker.grade_on_worker)  # what a worker runs for each submission

    def __init__(self, app, client, force=False, feedback=False, progress=None, commit_with="direct", shard=(0, 1)):
        self.app, self.client, self.force, self.feedback, self.shard = app, client, force, feedback, shard
        self.coursedir = app.coursedir
        self.students_asked = self.coursedir.student_id  # --student; each commit sets the coursedir's to its own
        self.assignment = self.coursedir.assignment_id
        self.progress = progress or Progress(0)
        self.settings = JudgedExecute(parent=app).settings()
        self.notebook_name = intake.load_release(self.coursedir, self.assignment)
        self.bundle = self._bundle(app)
        self.bundle_future = client.scatter(self.bundle, broadcast=True, hash=False) if client else None
        self.converter_commit = commit.ConverterCommit(app, self.coursedir)  # also for what has no execution
        sanitize, commit_executed = COMMITS[commit_with]
        self.sanitize, self.commit_executed = sanitize(app, self.coursedir), commit_executed(app, self.coursedir)
        self.write_feedback = commit.Feedback(app, self.coursedir, reuse=commit_with == "direct") if feedback else None
        self.failed, self.skipped, self.graded, self.executions = {}, [], [], 0
        self.in_flight = {}  # future key -> what the commit needs to know about that task
        self.busy = {"dispatch": 0.0, "commit": 0.0}  # the coordinator's own seconds per step
        self.committed_at = []  # time.monotonic() of each commit, for the median interval

    # -- what every task needs, sent once
    def _bundle(self, app):
        master = master_folder(self.coursedir, self.assignment)
        setup_cell = JudgedExecute(parent=app).setup_cell
        notebooks = [os.path.splitext(os.path.basename(path))[0] for path in glob.glob(os.path.join(master, "*.ipynb"))]
        sources = {notebook: trusted_sources(self.coursedir.db_url, notebook, self.assignment, setup_cell)
                   for notebook in notebooks}
        release = os.path.join(self.coursedir.format_path(self.coursedir.release_directory, ".", self.assignment),
                               self.notebook_name)
        return fingerprint.master_bundle(master, release, sources, self.settings,
                                         late.policy_fingerprint(app.config, self.assignment))

    def submissions(self, shard=None):
        """Student ids with a folder for this assignment in submitted/ (notebook or not), sorted, in
        this coordinator's shard (or in that shard), but not those that
        CourseDirectory.student_id_exclude names (nbgrader skips them too)."""
        excluded = set(filter(None, self.coursedir.student_id_exclude.split(",")))
        students = [intake.submission_of(folder)[0]
                    for folder in nbgrader_adapter.submission_folders(self.coursedir, self.students_asked)]
        return [student for student in students if student not in excluded and in_shard(student, shard or self.shard)]

    def _folder(self, student, step):
        return self.coursedir.format_path(step, student, self.assignment)

    def _unchanged(self, student, digest):
        report = os.path.join(self._folder(student, self.coursedir.autograded_directory), REPORT_NAME)
        try:
            with open(report) as handle:
                return json.load(handle).get("fingerprint") == digest
        except (OSError, ValueError):
            return False

    def dispatch(self, student):
        """Intake, sanitize and send one submission.

        returns: the task's Future; "unchanged" when graded before and unchanged; or None when there
                 is nothing to send (intake or sanitize refused it: the commit then reports it as
                 nbgrader would)
        """
        meta = self.prepare(student)
        return self._submit(meta, attempt=1) if isinstance(meta, dict) else meta

    def prepare(self, student):
        """dispatch without the sending. returns: the task's record (dict), "unchanged" or None"""
        folder = self._folder(student, self.coursedir.submitted_directory)
        record = intake.take_in(folder, self.notebook_name)
        digest = fingerprint.folder_fingerprint(folder, salt=self.bundle["digest"])
        if not self.force and self._unchanged(student, digest):
            intake.forget(student, self.assignment)
            return "unchanged"
        if record.failed:
            return None  # the commit meets the same refusal and reports it as nbgrader would
        try:
            output, notebook_digest = self.sanitize(record, self.notebook_name)
        except Exception as error:  # nbgrader's commit will meet the same problem and report it
            logging.getLogger(__name__).debug("sanitize failed for %s: %s", student, error)
            return None
        meta = {"student": student, "notebook": os.path.splitext(self.notebook_name)[0], "notebook_json": output,
                "digest": notebook_digest, "fingerprint": digest,
                "folder": folder}
        return meta

    def _submit(self, meta, attempt):
        # The notebook goes as scattered data, not inside the task: the scheduler keeps recent task
        # graphs for its diagnostics, and would otherwise keep every notebook with them.
        notebook = self.client.scatter(meta["notebook_json"], hash=False)
        future = self.client.submit(self.task, notebook, meta["notebook"], self.bundle_future,
                                    pure=False, key=f"grade-{meta['student']}-{attempt}-{os.urandom(4).hex()}")
        self.in_flight[future.key] = {**meta, "attempt": attempt, "scattered": notebook}
        return future

    def commit(self, student, meta=None, result=None):
        """Write one submission: its execution (meta, result), or without one, what nbgrader's
        converter makes of it. returns: error message or None"""
        changed = result is not None and (
            fingerprint.folder_fingerprint(meta["folder"], salt=self.bundle["digest"]) != meta["fingerprint"])
        if changed:
            intake.forget(student, self.assignment)
            return "its files changed while it was being graded; run again to grade the new version"
        try:
            if result is None:
                self.converter_commit(student)
            else:
                self.commit_executed(student, meta, result)
        except Exception as error:
            return f"nbgrader could not autograde it: {type(error).__name__}: {error}"
        finally:
            intake.forget(student, self.assignment)
        if self.feedback:
            try:
                self.write_feedback(student)
            except Exception as error:
                return f"graded, but nbgrader could not write its feedback: {type(error).__name__}: {error}"
        return None

    def run(self, students):
        """Grade these students; returns when every one is committed, skipped or failed."""
        gc.freeze()  # what exists by now (nbgrader, the app, the bundle) lasts the run: no collection walks it again
        with nbgrader_adapter.one_engine_per_database():
            self._run(students)

    def _run(self, students):
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
