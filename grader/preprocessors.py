"""nbgrader preprocessors that make autograding trustworthy. ``nbgrader_config.py`` plugs them in.

- ``RestoreReadOnlyCells`` (sanitize, instead of ``OverwriteCells``): nbgrader's restoration of
  read-only cells from the gradebook, without its false "checksum has changed" warnings.
- ``CheckCellMetadata``: nbgrader's own check with its JSON schema compiled once, not per cell.
- ``JudgedExecute`` (autograde, instead of ``Execute``): runs the student's cells in a sandboxed
  kernel and judges graded cells in this process (see ``judge.py``).
- ``SaveJudgedGrades`` (instead of ``SaveAutoGrades``): writes the judge's verdicts, never the
  notebook's outputs, to the gradebook, and writes a JSON report next to the notebook.
"""

import json
import os
import traceback
import types

import jsonschema
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells, SaveAutoGrades
from traitlets import Bool, Float, Integer, Unicode

from . import execution, intake, nbgrader_adapter, sandbox
from .course import REPORT_NAME
from .text import one_line
from .execution import grade_id_of as _grade_id
from .judge import first_line



class RestoreReadOnlyCells(OverwriteCells):
    """nbgrader's OverwriteCells, which puts the gradebook's read-only cells (hidden tests included)
    back into the notebook, with its reports of changes at debug level, and with the gradebook's
    master cells read once per instance rather than three queries per cell.

    Intake has already laid the submission onto the release (layout.py), so every read-only cell
    is the release's own and no change is the student's doing: nbgrader compares the gradebook's
    checksum, taken before the hidden tests were removed, with the release's, taken after, and
    would warn about every test cell of every student (nbgrader #1961). What a student did to
    read-only cells is in the grading report, from intake. (The master cells are as fixed during a
    batch as the hidden tests the batch judges with, which it also reads once. In nbgrader 0.9.6,
    which nbgrader_adapter checks, OverwriteCells.preprocess_cell asks its gradebook for nothing
    but find_source_cell and find_graded_cell; tests/test_commit.py compares the two on every
    kind of damage to every cell.)
    """

    _master = None  # (db_url, notebook, assignment), _MasterCells

    def preprocess(self, nb, resources):
        if self.add_missing_cells:  # nbgrader's own way, which reads more of the gradebook
            return super().preprocess(nb, resources)
        info = resources["nbgrader"]
        self.notebook_id, self.assignment_id, self.db_url = info["notebook"], info["assignment"], info["db_url"]
        key = (self.db_url, self.notebook_id, self.assignment_id)
        if self._master is None or self._master[0] != key:
            with Gradebook(self.db_url) as gradebook:
                self._master = key, _MasterCells(gradebook, self.notebook_id, self.assignment_id)
        self.gradebook = self._master[1]
        return super(OverwriteCells, self).preprocess(nb, resources)  # each cell: OverwriteCells.preprocess_cell

    def report_change(self, name, attr, old, new):
        self.log.debug("Cell %s: %s restored from the gradebook", name, attr)


class _MasterCells:
    """A notebook's master cells from the gradebook, as plain values: what OverwriteCells.preprocess_cell
    asks of a Gradebook (find_source_cell, find_graded_cell), answered from memory."""

    def __init__(self, gradebook, notebook_id, assignment):
        notebook = gradebook.find_notebook(notebook_id, assignment)
        self.source = {cell.name: types.SimpleNamespace(name=cell.name, cell_type=cell.cell_type, locked=cell.locked,
                                                        checksum=cell.checksum, source=cell.source)
                       for cell in notebook.source_cells}
        self.graded = {cell.name: types.SimpleNamespace(name=cell.name, max_score=cell.max_score)
                       for cell in [*notebook.task_cells, *notebook.grade_cells]}  # a grade cell wins, as in nbgrader

    def find_source_cell(self, name, notebook, assignment):
        if name not in self.source:
            raise MissingEntry(f"No such source cell: {assignment}/{notebook}/{name}")
        return self.source[name]

    def find_graded_cell(self, name, notebook, assignment):
        if name not in self.graded:
            raise MissingEntry(f"No such graded cell: {assignment}/{notebook}/{name}")
        return self.graded[name]


class _CompiledSchemaCheck(BaseMetadataValidator):
    """nbgrader's JSON-schema check of a cell's metadata, with the schema compiled once per process.

    nbgrader calls jsonschema.validate per cell, which checks the schema itself each time: about
    0.1 s per notebook, paid in every pass over every submission. Metadata found valid is
    remembered, by its JSON text: most cells are the release's own, the same in every submission
    (the check was a sixth of the coordinator's CPU). At most MAX_REMEMBERED are kept.
    """

    MAX_REMEMBERED = 10_000
    _checkers = {}
    _valid = set()  # (schema version, JSON text of a cell's nbgrader metadata) that passed the check

    def validate_cell(self, cell):
        if "nbgrader" not in cell.metadata:
            return
        metadata = cell.metadata["nbgrader"]
        if metadata.get("schema_version", 0) != self.schema_version:
            return super().validate_cell(cell)  # nbgrader's own "too old" or "too new" error
        remembered = (self.schema_version, json.dumps(metadata, sort_keys=True))
        if remembered in self._valid:
            return
        checker = self._checkers.get(self.schema_version)
        if checker is None:
            checker = self._checkers[self.schema_version] = jsonschema.validators.validator_for(self.schema)(self.schema)
        error = jsonschema.exceptions.best_match(checker.iter_errors(metadata))
        if error is not None:
            raise error
        if len(self._valid) >= self.MAX_REMEMBERED:
            self._valid.clear()
        self._valid.add(remembered)


class _CompiledMetadataValidator(MetadataValidator, _CompiledSchemaCheck):
    """nbgrader's MetadataValidator (its checks run first), using the compiled schema check."""


class CheckCellMetadata(NbGraderPreprocessor):
    """nbgrader's CheckCellMetadata (same checks, same errors), faster: see _CompiledSchemaCheck."""

    def preprocess(self, nb, resources):
        try:
            _CompiledMetadataValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg)
        return nb, resources


def converter_of(preprocessor: NbGraderPreprocessor):
    """The nbgrader converter (Autograde, GenerateFeedback, ...) running this preprocessor."""
    node = preprocessor
    while node is not None:
        if getattr(node, "coursedir", None) is not None:
            return node
        node = node.parent
    raise RuntimeError(f"{type(preprocessor).__name__} must run inside an nbgrader converter")


def coursedir_of(preprocessor: NbGraderPreprocessor):
    """The CourseDirectory of the nbgrader converter running this preprocessor."""
    return converter_of(preprocessor).coursedir


class JudgedExecute(NbGraderPreprocessor):
    """Run a submission in the sandbox, judging its graded cells outside the kernel (execution.py)."""

    cell_timeout = Float(30, help="Seconds one cell of the notebook may run before it is interrupted").tag(config=True)
    notebook_timeout = Float(300, help="Seconds all the notebook's own cells may run together").tag(config=True)
    call_timeout = Float(30, help="Seconds one call of a student function from the hidden tests may take").tag(config=True)
    test_budget = Float(60, help="Seconds all the hidden tests' calls of one submission may take together; "
                                 "a slow or stalling student costs the batch at most this").tag(config=True)
    cpu_seconds = Integer(sandbox.Limits.cpu_seconds, help="CPU time limit of the kernel").tag(config=True)
    memory_bytes = Integer(sandbox.Limits.memory_bytes, help="Memory limit of the kernel").tag(config=True)
    processes = Integer(sandbox.Limits.processes, help="Process limit of the kernel").tag(config=True)
    file_bytes = Integer(sandbox.Limits.file_bytes, help="Largest file the kernel may write").tag(config=True)
    setup_cell = Unicode("setup", help="grade_id of the locked cell whose imports graded cells use").tag(config=True)
    warm_template = Bool(True, help="As root, fork each kernel from a warm template process that has already "
                                    "imported ipykernel, NumPy and matplotlib (grader/template.py)").tag(config=True)

    def settings(self):
        """The configured limits, as execution.Settings (checks that the sandbox is available)."""
        limits = sandbox.Limits(self.cpu_seconds, self.memory_bytes, self.processes, self.file_bytes)
        return execution.Settings(self.cell_timeout, self.notebook_timeout, self.call_timeout, self.test_budget,
                                  limits, use_sandbox=sandbox.check_sandbox(self.log), warm_template=self.warm_template)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        sources = trusted_sources(info["db_url"], info["notebook"], info["assignment"], self.setup_cell)
        pool = execution.kernel_pool(master_folder(coursedir_of(self), info["assignment"]), self.settings())
        judge = resources["judge"] = execution.run_submission(nb, sources, pool)
        verdicts = judge["verdicts"].values()
        _PROGRESS.advance(nbgrader_adapter.batch_size(converter_of(self)), info["student"],
                          sum(v["score"] for v in verdicts), sum(v["max_score"] for v in verdicts), judge["seconds"])
        return nb, resources


class _Progress:
    """One line per graded submission: where the batch is, the score, the time and what is left.

    It goes to standard error, or to the file descriptor GRADER_PROGRESS_FD names (make demo sends
    nbgrader's own log to a file and this line to the terminal).
    """

    def __init__(self):
        self.done, self.total, self.seconds = 0, 0, 0.0

    def advance(self, total, student, score, maximum, seconds):
        if total != self.total:  # a new batch
            self.done, self.total, self.seconds = 0, total, 0.0
        self.done += 1
        self.seconds += seconds or 0.0
        left = (self.total - self.done) * self.seconds / self.done
        line = (f"[{self.done:{len(str(self.total))}d}/{self.total}] {one_line(student, 30):<20} "
                f"{score:g}/{maximum:g} in {seconds or 0:.1f} s" + (f", about {left:.0f} s left" if left >= 1 else ""))
        descriptor = os.environ.get("GRADER_PROGRESS_FD")
        try:
            os.write(int(descriptor) if descriptor else 2, (line + "\n").encode("utf-8"))
        except (OSError, ValueError):
            pass


_PROGRESS = _Progress()


def prepare_batches() -> None:
    """Before every nbgrader autograde batch (nbgrader_config.py calls this once): refuse at once,
    with one clear message, when no sandbox can be made, and list every submission folder, with
    or without a notebook, for intake (intake.load_release names their notebook)."""
    nbgrader_adapter.grade_every_folder(intake.load_release, before_batch=lambda coursedir: sandbox.check_sandbox())


def trusted_sources(db_url: str, notebook_id: str, assignment: str, setup_cell: str = "setup") -> execution.TrustedSources:
    """Graded cells' sources and the setup cell's, from the gradebook. returns: execution.TrustedSources"""
    with Gradebook(db_url) as gradebook:
        notebook = gradebook.find_notebook(notebook_id, assignment)
        graded = {cell.name: gradebook.find_source_cell(cell.name, notebook_id, assignment).source
                  for cell in notebook.grade_cells if cell.cell_type == "code"}
        try:
            setup = gradebook.find_source_cell(setup_cell, notebook_id, assignment).source
        except MissingEntry:
            setup = ""
    return execution.TrustedSources(graded, setup)


def master_folder(coursedir, assignment: str) -> str:
    """The assignment's folder in source/: the master files a kernel gets, never the student's."""
    return os.path.abspath(coursedir.format_path(coursedir.source_directory, ".", assignment))


class SaveJudgedGrades(SaveAutoGrades):
    """Save the judge's verdicts as the autograded scores; a graded cell without a verdict scores 0.

    Comments are nbgrader's ("No response." for an unchanged answer). nbgrader looks up and commits
    each cell's row on its own; here the submission's rows are read in one query and committed once.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        self._verdicts = resources.get("judge", {}).get("verdicts", {})
        with Gradebook(info["db_url"]) as self.gradebook:
            submitted = self.gradebook.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            self._rows = {("grade", row.name): row for row in submitted.grades}
            self._rows.update({("comment", row.name): row for row in submitted.comments})
            nb, resources = super(SaveAutoGrades, self).preprocess(nb, resources)  # each cell, below
            self.gradebook.db.commit()
        self._write_report(nb, resources)
        return nb, resources

    def _row(self, kind, cell, resources):
        """The submission's grade or comment row of this cell (nbgrader's MissingEntry if it has none)."""
        row = self._rows.get((kind, _grade_id(cell)))
        if row is None:
            info = resources["nbgrader"]
            find = self.gradebook.find_grade if kind == "grade" else self.gradebook.find_comment
            row = find(_grade_id(cell), info["notebook"], info["assignment"], info["student"])
        return row

    def _add_score(self, cell, resources):
        grade = self._row("grade", cell, resources)
        verdict = self._verdicts.get(_grade_id(cell))
        grade.auto_score = verdict["score"] if verdict else 0.0
        grade.needs_manual_grade = grade.manual_score is not None

    def _add_comment(self, cell, resources):
        comment = self._row("comment", cell, resources)
        unchanged = cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell)
        comment.auto_comment = "No response." if unchanged and not utils.is_task(cell) else None

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
            "fingerprint": judge.get("fingerprint"),  # set by the parallel grader, to skip unchanged work
            "grader_peak_mib": judge.get("grader_peak_mib"),  # hostile replies must not raise it
            "notes": intake.notes_for(info["student"], info["assignment"]),  # from intake only, never the notebook
            "checks": checks,
        }
        resources.setdefault("judge", {})["report"] = report
        resources.setdefault("outputs", {})[REPORT_NAME] = json.dumps(report, indent=1).encode("utf-8")
