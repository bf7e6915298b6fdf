"""The parallel grader's two ends in nbgrader's formats: the sanitize step before a submission is
sent to a worker, and the commit of its execution (autograded/ and the gradebook), each as
nbgrader's Autograde converter does it.

Two ways, which give the same (tests/test_commit.py compares the sanitized notebooks, every file
of autograded/, byte for byte with its mode, every gradebook column and the feedback pages, for
every case of its subset, graded and graded again):

- ``ConverterSanitize`` and ``ConverterCommit`` run nbgrader's own Autograde converter for the
  student: its sanitize step alone, and later the whole converter with ``ReplaySanitized`` and
  ``ReplayExecution`` standing for its sanitize step and for JudgedExecute. They are the
  reference; the coordinator also commits through the converter a submission that has no
  execution to replay (intake or sanitize refused it: the converter then reports it as nbgrader would).
- ``DirectSanitize`` and ``DirectCommit`` (the default) run the same preprocessors, made once per
  batch, on the notebook in memory, with the converter's own steps for the submission folder and
  the gradebook (nbgrader_adapter.autograde_folder): the converter's exporter passes copy,
  validate, write and read the notebook about a dozen times, and a new converter is built per student.

``Feedback`` writes a student's feedback with nbgrader's GenerateFeedback: one converter kept for
the class (the default), or a new one per student.
"""

import contextlib
import json
import os

import nbformat
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets.utils.importstring import import_item

from . import fingerprint, intake, nbgrader_adapter

JUDGED_EXECUTE = "grader.preprocessors.JudgedExecute"


class ReplaySanitized(NbGraderPreprocessor):
    """Instead of the sanitize step, at commit: the notebook sanitized at dispatch.

    Dispatch ran nbgrader's own sanitize preprocessors on the same files; none of them writes to the
    gradebook, so running them again would only repeat the work.
    """

    def __init__(self, sanitized_json: str, **kwargs):
        super().__init__(**kwargs)
        self.sanitized_json = sanitized_json

    def preprocess(self, nb, resources):
        return nbformat.reads(self.sanitized_json, as_version=4), resources


class ReplayExecution(NbGraderPreprocessor):
    """Instead of JudgedExecute, at commit: the worker's execution of this notebook.

    result -- grade_on_worker's dict; digest -- notebook_digest of the notebook the worker ran;
    submission_fingerprint -- stored in the grading report, for the next run
    """

    def __init__(self, result: dict, digest: str, submission_fingerprint: str, **kwargs):
        super().__init__(**kwargs)
        self.result, self.digest, self.submission_fingerprint = result, digest, submission_fingerprint

    def preprocess(self, nb, resources):
        if fingerprint.notebook_digest(nb) != self.digest:
            raise RuntimeError(f"{resources['nbgrader']['student']}: the notebook changed between dispatch and commit")
        nb.cells = intake.read_checked_later(self.result["notebook"]).cells
        resources["judge"] = {**self.result["judge"], "fingerprint": self.submission_fingerprint}
        return nb, resources


def _no_hook(**_):
    """The intake hook already ran when the submission was dispatched."""


def autograde_converter(app, coursedir, replay=None) -> Autograde:
    """nbgrader's Autograde converter with the course's configuration, for one commit (always --force).

    replay -- None, or (sanitized, executed): a ReplaySanitized and a ReplayExecution that stand for
              its sanitize step and for JudgedExecute
    """
    converter = Autograde(coursedir=coursedir, parent=app)
    converter.force, converter.pre_convert_hook = True, _no_hook
    if replay is not None:
        sanitized, executed = replay
        converter.sanitize_preprocessors = [sanitized]
        converter.autograde_preprocessors = [executed if step == JUDGED_EXECUTE else step
                                             for step in converter.autograde_preprocessors]
    return converter


class ConverterSanitize:
    """nbgrader's sanitize step, through a new Autograde converter per student."""

    def __init__(self, app, coursedir):
        self.app, self.coursedir = app, coursedir

    def __call__(self, record: intake.Intake, notebook_name: str) -> tuple[str, str]:
        """The sanitized notebook of a submission that intake took in.
        returns: (its JSON text, fingerprint.notebook_digest of it)"""
        output, _ = nbgrader_adapter.sanitize_only(autograde_converter(self.app, self.coursedir),
                                                   os.path.join(record.folder, notebook_name))
        return output, fingerprint.notebook_digest(nbformat.reads(output, as_version=4))


class DirectSanitize:
    """nbgrader's sanitize preprocessors, made once, on the notebook intake lays out, in memory."""

    def __init__(self, app, coursedir):
        self.coursedir = coursedir
        converter = autograde_converter(app, coursedir)
        self.steps = [_preprocessor(step, converter) for step in converter.sanitize_preprocessors]

    def __call__(self, record: intake.Intake, notebook_name: str) -> tuple[str, str]:
        """As ConverterSanitize, the digest taken of the notebook in memory rather than read back.
        returns: (the sanitized notebook as compact JSON, which only the worker and the commit
                 read, its fingerprint.notebook_digest)"""
        notebook_id = os.path.splitext(notebook_name)[0]
        resources = nbgrader_adapter.notebook_resources(self.coursedir, record.student, notebook_id)
        _, nb = nbformat.validator.normalize(intake.notebook_to_grade(record))  # as nbconvert's exporter
        nb, _ = _run_steps(self.steps, nb, resources)
        return json.dumps(nb), fingerprint.notebook_digest(nb)


class ConverterCommit:
    """Commits through nbgrader's own Autograde converter, a new one per student."""

    def __init__(self, app, coursedir):
        self.app, self.coursedir = app, coursedir

    def __call__(self, student: str, meta: dict | None = None, result: dict | None = None) -> None:
        """Write one submission (raises what the converter raises).

        meta -- the coordinator's record of the dispatched task (notebook_json, digest, fingerprint);
        result -- the worker's (grade_on_worker); both None: no execution to replay
        """
        replay = None
        if result is not None:
            replay = (ReplaySanitized(meta["notebook_json"], parent=self.app),
                      ReplayExecution(result, meta["digest"], meta["fingerprint"], parent=self.app))
        self.coursedir.student_id = student
        with contextlib.chdir(self.coursedir.root):
            autograde_converter(self.app, self.coursedir, replay).start()


class DirectCommit:
    """Commits an executed submission with one converter, built once, and the notebook in memory."""

    def __init__(self, app, coursedir):
        self.coursedir = coursedir
        self.converter = autograde_converter(app, coursedir)
        # the configured autograde preprocessors, each made once; None marks where JudgedExecute runs
        self.steps = [None if step == JUDGED_EXECUTE else _preprocessor(step, self.converter)
                      for step in self.converter.autograde_preprocessors]
        if self.steps.count(None) != 1:
            raise ValueError(f"the autograde preprocessors must hold {JUDGED_EXECUTE} once")

    def __call__(self, student: str, meta: dict, result: dict) -> None:
        """Write one executed submission (raises on failure, having removed its autograded folder)."""
        coursedir = self.coursedir
        coursedir.student_id = student
        notebook_id = meta["notebook"]
        with (contextlib.chdir(coursedir.root),
              nbgrader_adapter.autograde_folder(self.converter, student, notebook_id) as (dest, resources)):
            replay = ReplayExecution(result, meta["digest"], meta["fingerprint"])
            steps = [step or replay for step in self.steps]
            nb, resources = _run_steps(steps, intake.read_checked_later(meta["notebook_json"]), resources)
            for name, data in resources.get("outputs", {}).items():
                with open(os.path.join(dest, name), "wb") as handle:
                    handle.write(data)
            with open(os.path.join(dest, notebook_id + ".ipynb"), "w", encoding="utf-8") as handle:
                handle.write(_file_text(nb))


class Feedback:
    """nbgrader's GenerateFeedback for one student at a time (the feedback page and the files beside it).

    reuse -- keep one converter, whose HTML exporter and preprocessors are made once
             (nbgrader_adapter.convert_for); otherwise a new converter per student, as
             `nbgrader generate_feedback --student=<id>` does
    """

    def __init__(self, app, coursedir, reuse=True):
        self.app, self.coursedir, self.reuse = app, coursedir, reuse
        self.converter = self._converter() if reuse else None

    def _converter(self):
        converter = GenerateFeedback(coursedir=self.coursedir, parent=self.app)
        converter.force = True
        return converter

    def __call__(self, student: str) -> None:
        """Write that student's feedback (raises what the converter raises)."""
        if self.reuse:
            nbgrader_adapter.convert_for(self.converter, student)
            return
        self.coursedir.student_id = student
        with contextlib.chdir(self.coursedir.root):
            self._converter().start()


def _run_steps(steps, nb, resources):
    """Preprocess a notebook as nbconvert's NotebookExporter does, without its copies: each step,
    then nbformat's check of the notebook (which raises). returns: (the notebook, the resources)"""
    if not steps:
        raise ValueError("no preprocessors to run")
    for step in steps:
        nb, resources = step(nb, resources)
        nbformat.validate(nb, relax_add_props=True)  # as the exporter, after each step
    return nb, resources


def _file_text(nb):
    """A checked notebook as nbconvert's NotebookExporter writes its file: nbformat.writes(nb, 4)
    (without checking it again) and a final newline."""
    text = nbformat.v4.writes_json(nb)
    return text if text.endswith("\n") else text + "\n"


def _preprocessor(name_or_class, parent):
    """A preprocessor as nbconvert's Exporter.register_preprocessor makes it (its configuration from parent's)."""
    cls = import_item(name_or_class) if isinstance(name_or_class, str) else name_or_class
    return cls(parent=parent)
