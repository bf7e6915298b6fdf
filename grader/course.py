"""Facts about the course layout and its exercises, read from the master notebook."""

import os

import nbformat

ASSIGNMENT = "gradient_checking"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
EXERCISES = ("forward_propagation", "backward_propagation", "gradient_check", "gradient_check_n")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def notebook_path(course_root, step, student=None):
    """Path of the assignment notebook in a step folder (source, release, submitted, autograded)."""
    parts = [course_root, step] + ([student] if student else []) + [ASSIGNMENT, NOTEBOOK]
    return os.path.join(*parts)


def exercise_of(grade_id):
    """The exercise a graded test cell belongs to: test_<exercise> or test_<exercise>__<suffix>."""
    if not grade_id.startswith("test_"):
        raise ValueError(f"graded cell {grade_id!r} must be named test_<exercise>[__<suffix>]")
    return grade_id[len("test_"):].split("__")[0]


def graded_cells(notebook):
    """The graded test cells of a notebook: list of (grade_id, exercise, points)."""
    cells = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            cells.append((meta["grade_id"], exercise_of(meta["grade_id"]), float(meta["points"])))
    return cells


def max_scores(course_root=REPO_ROOT):
    """Points available per exercise in the master notebook: dict exercise -> float."""
    notebook = nbformat.read(notebook_path(course_root, "source"), as_version=4)
    totals = {exercise: 0.0 for exercise in EXERCISES}
    for _, exercise, points in graded_cells(notebook):
        totals[exercise] += points
    return totals
