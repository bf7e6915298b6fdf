"""What a student's feedback may show: no hidden test code, no traceback that quotes it, and a
grading report without the grader's own bookkeeping."""

import json
import os
import re

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from .course import REPORT_NAME
from .preprocessors import coursedir_of

STUDENT_REPORT_KEYS = ("student", "assignment", "notebook", "score", "max_score", "kernel_problem", "notes", "checks")

HIDDEN_REGION = re.compile(
    r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*$", re.DOTALL | re.MULTILINE
)


class HideHiddenTests(NbGraderPreprocessor):
    """In every graded test cell, drop the hidden tests and cut each error to its last line.

    A traceback quotes the lines of the test that failed, so it is reduced to
    ``ExceptionName: message``; the messages of this course's tests name the case and give a hint,
    never the expected value.
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            cell.source = HIDDEN_REGION.sub("# (hidden tests ran here)", cell.source)
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class StudentReport(NbGraderPreprocessor):
    """Put the student's version of the grading report beside their feedback page.

    The instructor's report (autograded/<student>/<assignment>/grading_report.json) also holds
    timings and the fingerprint that the parallel grader uses; the student's holds their checks,
    notes and scores only.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        coursedir = coursedir_of(self)
        path = os.path.join(coursedir.format_path(coursedir.autograded_directory, info["student"], info["assignment"]),
                            REPORT_NAME)
        try:
            with open(path, encoding="utf-8") as handle:
                report = json.load(handle)
        except (OSError, ValueError):
            return nb, resources
        released = {key: report.get(key) for key in STUDENT_REPORT_KEYS}
        penalty = float(info.get("late_penalty") or 0.0)  # set by nbgrader's GetGrades, before this
        released.update(late_penalty=penalty, score_after_penalty=max(0.0, released["score"] - penalty))
        resources.setdefault("outputs", {})[REPORT_NAME] = json.dumps(released, indent=1).encode("utf-8")
        return nb, resources
