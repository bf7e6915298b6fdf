"""Facts about the course: its folders and gradebook (from nbgrader_config.py) and its exercises
(from the master notebook)."""

import functools
import os

import nbformat
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

ASSIGNMENT = "gradient_checking"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
EXERCISES = ("forward_propagation", "backward_propagation", "gradient_check", "gradient_check_n")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_FILE = "nbgrader_config.py"
REPORT_NAME = "grading_report.json"  # written by the grader beside each autograded notebook


@functools.cache
def course_directory(course_root: str = REPO_ROOT) -> CourseDirectory:
    """nbgrader's CourseDirectory for a course root, configured as nbgrader would configure it.

    The configuration is the course root's nbgrader_config.py, or this repository's when the root
    has none (a course made by copying source/, as the tests make). So the course id, the
    gradebook and the folders' names are read from one place, never repeated here.
    returns: CourseDirectory with root set to the course root
    """
    config_folder = course_root if os.path.isfile(os.path.join(course_root, CONFIG_FILE)) else REPO_ROOT
    config = PyFileConfigLoader(CONFIG_FILE, path=config_folder).load_config()
    config.CourseDirectory.root = os.path.abspath(course_root)
    return CourseDirectory(config=config)


STEPS = {"source": "source_directory", "release": "release_directory", "submitted": "submitted_directory",
         "autograded": "autograded_directory", "feedback": "feedback_directory"}


def assignment_folder(course: CourseDirectory | str, step: str, student: str | None = None) -> str:
    """The assignment's folder in one step (source, release, submitted, autograded, feedback).

    course -- a CourseDirectory, or a course root (see course_directory)
    """
    coursedir = course if isinstance(course, CourseDirectory) else course_directory(course)
    return os.path.normpath(coursedir.format_path(getattr(coursedir, STEPS[step]), student or ".", ASSIGNMENT))


def step_folder(course: CourseDirectory | str, step: str) -> str:
    """The folder of one step for the whole class, such as the course's autograded/."""
    coursedir = course if isinstance(course, CourseDirectory) else course_directory(course)
    return os.path.normpath(os.path.join(coursedir.root, getattr(coursedir, STEPS[step])))


def notebook_path(course: CourseDirectory | str, step: str, student: str | None = None) -> str:
    """Path of the assignment notebook in one step (see assignment_folder)."""
    return os.path.join(assignment_folder(course, step, student), NOTEBOOK)


def exercise_of(grade_id: str) -> str:
    """The exercise a graded test cell belongs to: test_<exercise> or test_<exercise>__<suffix>."""
    if not grade_id.startswith("test_"):
        raise ValueError(f"graded cell {grade_id!r} must be named test_<exercise>[__<suffix>]")
    return grade_id[len("test_"):].split("__")[0]


def graded_cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str, float]]:
    """The graded test cells of a notebook: list of (grade_id, exercise, points)."""
    cells = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            cells.append((meta["grade_id"], exercise_of(meta["grade_id"]), float(meta["points"])))
    return cells


def max_scores(course_root: str = REPO_ROOT) -> dict[str, float]:
    """Points available per exercise in the master notebook: dict exercise -> float."""
    notebook = nbformat.read(notebook_path(course_root, "source"), as_version=4)
    totals = {exercise: 0.0 for exercise in EXERCISES}
    for _, exercise, points in graded_cells(notebook):
        totals[exercise] += points
    return totals
