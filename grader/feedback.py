"""What a student's feedback may show: no hidden test code, and no traceback that quotes it."""

import re

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

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
