"""nbgrader preprocessors that make autograding trustworthy. ``nbgrader_config.py`` plugs them in.

- ``DeduplicateCells`` (sanitize): a copied, pasted or split nbgrader cell keeps its metadata only
  once, so nbgrader never aborts the batch on it.
- ``JudgedExecute`` (autograde, instead of ``Execute``): runs the student's cells in a sandboxed
  kernel and judges graded cells in this process (see ``judge.py``).
- ``SaveJudgedGrades`` (instead of ``SaveAutoGrades``): writes the judge's verdicts, never the
  notebook's outputs, to the gradebook, and writes a JSON report next to the notebook.
"""

import json
import os
import shutil
import tempfile
import time

import nbformat
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor, SaveAutoGrades
from traitlets import Float, Integer, Unicode

from . import sandbox
from . import intake
from .intake import INTAKE_KEY
from .judge import RemoteStudent, first_line, judge_cell, judge_namespace
from .kernel import KernelDied, SandboxedKernel

REPORT_NAME = "grading_report.json"
DUPLICATES_KEY = "grader_duplicated_cells"


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


class DeduplicateCells(NbGraderPreprocessor):
    """Keep nbgrader metadata on the first cell of each grade_id only; note the others."""

    def preprocess(self, nb, resources):
        seen, duplicates = set(), []
        for cell in nb.cells:
            grade_id = _grade_id(cell)
            if grade_id is None:
                continue
            if grade_id in seen:
                duplicates.append(grade_id)
                del cell.metadata["nbgrader"]
            seen.add(grade_id)
        if duplicates:
            self.log.warning("Duplicated nbgrader cells ignored: %s", ", ".join(duplicates))
            nb.metadata[DUPLICATES_KEY] = duplicates
        return nb, resources


def _course_directory(preprocessor):
    """The CourseDirectory of the nbgrader app running this preprocessor."""
    node = preprocessor
    while node is not None:
        if getattr(node, "coursedir", None) is not None:
            return node.coursedir
        node = node.parent
    raise RuntimeError("JudgedExecute must run inside an nbgrader converter (nbgrader autograde)")


class JudgedExecute(NbGraderPreprocessor):
    """Run a submission in the sandbox, judging its graded cells outside the kernel."""

    cell_timeout = Float(30, help="Seconds a student cell may run before it is interrupted").tag(config=True)
    call_timeout = Float(60, help="Seconds one call of a student function may take").tag(config=True)
    notebook_timeout = Float(900, help="Seconds the whole notebook may take").tag(config=True)
    cpu_seconds = Integer(sandbox.Limits.cpu_seconds, help="CPU time limit of the kernel").tag(config=True)
    memory_bytes = Integer(sandbox.Limits.memory_bytes, help="Memory limit of the kernel").tag(config=True)
    processes = Integer(sandbox.Limits.processes, help="Process limit of the kernel").tag(config=True)
    file_bytes = Integer(sandbox.Limits.file_bytes, help="Largest file the kernel may write").tag(config=True)
    setup_cell = Unicode("setup", help="grade_id of the locked cell whose imports graded cells use").tag(config=True)

    def preprocess(self, nb, resources):
        use_sandbox = sandbox.check_sandbox(self.log)
        info = resources["nbgrader"]
        judge = resources.setdefault("judge", {})
        judge.update(verdicts={}, kernel=None, started=time.time())
        timings = judge["timings"] = dict.fromkeys(("prepare", "kernel_start", "student_cells", "judging"), 0.0)
        clock = time.perf_counter()
        graded, setup_source = self._trusted_sources(info)
        workdir = tempfile.mkdtemp(prefix="gc-submission-")
        kernel = None
        try:
            submission = self._prepare_folder(workdir, info["assignment"])
            limits = sandbox.Limits(self.cpu_seconds, self.memory_bytes, self.processes, self.file_bytes)
            timings["prepare"], clock = time.perf_counter() - clock, time.perf_counter()
            try:
                kernel = SandboxedKernel(submission, limits, use_sandbox)
            except KernelDied as error:
                judge["kernel"] = str(error)
            timings["kernel_start"] = time.perf_counter() - clock
            deadline = time.monotonic() + self.notebook_timeout
            namespace = (judge_namespace(setup_source, RemoteStudent(kernel, self.call_timeout, deadline))
                         if kernel else None)
            for cell in nb.cells:
                if cell.cell_type != "code":
                    continue
                grade_id = _grade_id(cell)
                clock = time.perf_counter()
                if grade_id in graded and utils.is_grade(cell):
                    self._judge(cell, grade_id, graded[grade_id], namespace, judge)
                    timings["judging"] += time.perf_counter() - clock
                else:
                    self._run(cell, kernel, judge, deadline)
                    timings["student_cells"] += time.perf_counter() - clock
                if judge["kernel"] and kernel is not None and kernel.alive:
                    kernel.kill()
        finally:
            if kernel is not None:
                kernel.shutdown()
            shutil.rmtree(workdir, ignore_errors=True)
        judge["seconds"] = round(time.time() - judge.pop("started"), 3)
        judge["timings"] = {step: round(seconds, 3) for step, seconds in timings.items()}
        return nb, resources

    def _trusted_sources(self, info):
        """Graded cells' sources and the setup cell's, from the gradebook (never from the submission)."""
        with Gradebook(info["db_url"]) as gradebook:
            notebook = gradebook.find_notebook(info["notebook"], info["assignment"])
            graded = {cell.name: gradebook.find_source_cell(cell.name, info["notebook"], info["assignment"]).source
                      for cell in notebook.grade_cells if cell.cell_type == "code"}
            try:
                setup = gradebook.find_source_cell(self.setup_cell, info["notebook"], info["assignment"]).source
            except MissingEntry:
                setup = ""
        return graded, setup

    def _prepare_folder(self, workdir, assignment):
        """The kernel's folder: the master versions of the assignment's files, nothing the student sent."""
        coursedir = _course_directory(self)
        source = coursedir.format_path(coursedir.source_directory, ".", assignment)
        folder = os.path.join(workdir, "submission")
        shutil.copytree(source, folder, ignore=shutil.ignore_patterns("*.ipynb", "__pycache__", ".ipynb_checkpoints"))
        return folder

    def _run(self, cell, kernel, judge, deadline):
        if judge["kernel"] or kernel is None:
            cell.outputs = [_error("NotRun", f"Not run: {judge['kernel'] or 'no kernel'}.")]
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            judge["kernel"] = f"the notebook ran over its {self.notebook_timeout:g} s limit"
            cell.outputs = [_error("NotRun", f"Not run: {judge['kernel']}.")]
            return
        try:
            outputs, _ = kernel.execute(cell.source, timeout=min(self.cell_timeout, remaining))
            cell.outputs = [nbformat.from_dict(output) for output in outputs]
        except KernelDied as error:
            judge["kernel"] = f"{error} (in the cell starting {cell.source.strip()[:60]!r})"
            cell.outputs = [_error("KernelDied", f"The kernel stopped here: {error}.")]

    def _judge(self, cell, grade_id, source, namespace, judge):
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
        judge["verdicts"][grade_id] = {"checks": first_line(source), "passed": passed,
                                       "score": points if passed else 0.0, "max_score": points,
                                       "message": message}
        cell.outputs = ([nbformat.v4.new_output("stream", name="stdout", text=f"Passed: {first_line(source)}\n")]
                        if passed else [_error("TestFailed", message)])


def _error(name, message):
    return nbformat.v4.new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


class SaveJudgedGrades(SaveAutoGrades):
    """Save the judge's verdicts as the autograded scores; a graded cell without a verdict scores 0."""

    def preprocess(self, nb, resources):
        self._verdicts = resources.get("judge", {}).get("verdicts", {})
        nb, resources = super().preprocess(nb, resources)
        self._write_report(nb, resources)
        return nb, resources

    def _add_score(self, cell, resources):
        info = resources["nbgrader"]
        grade = self.gradebook.find_grade(_grade_id(cell), info["notebook"], info["assignment"], info["student"])
        verdict = self._verdicts.get(_grade_id(cell))
        grade.auto_score = verdict["score"] if verdict else 0.0
        grade.needs_manual_grade = grade.manual_score is not None
        self.gradebook.db.commit()

    @staticmethod
    def _notes(nb, info):
        notes = intake.NOTES.get((info["student"], info["assignment"])) or nb.metadata.get(INTAKE_KEY, [])
        notes = list(notes)
        return notes + [f"duplicated cell ignored: {grade_id}" for grade_id in nb.metadata.get(DUPLICATES_KEY, [])]

    def _write_report(self, nb, resources):
        info, judge = resources["nbgrader"], resources.get("judge", {})
        checks = []
        for cell in nb.cells:
            grade_id = _grade_id(cell)
            if grade_id and utils.is_grade(cell) and cell.cell_type == "code":
                verdict = self._verdicts.get(grade_id) or {
                    "checks": first_line(cell.source), "passed": False, "score": 0.0,
                    "max_score": float(cell.metadata.nbgrader.get("points", 0)), "message": "Not judged."}
                checks.append({"grade_id": grade_id, **verdict})
        report = {
            "student": info["student"], "assignment": info["assignment"], "notebook": info["notebook"],
            "score": sum(check["score"] for check in checks),
            "max_score": sum(check["max_score"] for check in checks),
            "kernel_problem": judge.get("kernel"), "seconds": judge.get("seconds"),
            "timings": judge.get("timings", {}),
            "notes": self._notes(nb, info),
            "checks": checks,
        }
        resources.setdefault("judge", {})["report"] = report
        resources.setdefault("outputs", {})[REPORT_NAME] = json.dumps(report, indent=1).encode("utf-8")
