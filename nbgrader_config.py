"""nbgrader configuration for the gradient-checking course.

Run the plain nbgrader commands from this folder (the course root):
nbgrader generate_assignment gradient_checking, nbgrader autograde gradient_checking,
nbgrader generate_feedback gradient_checking, nbgrader export.
"""

import os
import sys

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, COURSE_ROOT)  # the trusted `grader` package

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.course_id = "gradient-checking"
# The gradebook: SQLite in the course root by default; GRADEBOOK_URL may name another, such as
# postgresql://grader@db.example:5432/gradebook for several graders. A wrong or unreachable URL
# fails every nbgrader command loudly; it never falls back to SQLite.
if os.environ.get("GRADEBOOK_URL"):
    c.CourseDirectory.db_url = os.environ["GRADEBOOK_URL"]

# Feedback goes to students: it must not show hidden test code (nbgrader issue #917).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "grader.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# Trustworthy autograding (grader/preprocessors.py): student cells run in a bubblewrap sandbox,
# graded cells are judged in this process from the gradebook's copy, and only the judge's
# verdicts reach the gradebook.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.OverwriteKernelspec",
    "grader.preprocessors.RestoreReadOnlyCells",
    "grader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "grader.preprocessors.JudgedExecute",
    "grader.preprocessors.SaveJudgedGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "grader.preprocessors.CheckCellMetadata",
]

# Submissions are hostile data (grader/intake.py). Before nbgrader copies a submission folder, intake
# moves aside everything that is not a regular file of bounded size (links, FIFOs, devices, ...); it
# then reads the notebook without following links, whatever its encoding, damage or structure, and
# lays its cells onto the release's skeleton. Folders without a notebook are graded too, as blank.
from grader.intake import prepare_submission  # noqa: E402

c.Autograde.pre_convert_hook = prepare_submission
c.Autograde.exporter_class = "grader.intake.IntakeExporter"
# The grading report is written by the grader, never copied from a submission, and students get
# their own version of it with their feedback (grader/feedback.py).
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "grading_report.json"]
