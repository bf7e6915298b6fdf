"""Shared fixtures: one temporary course, generated and autograded once per test session.

The course is a copy of source/ in a temporary root. nbgrader runs there with this repository's
nbgrader_config.py (the root is overridden on the command line), exactly as an instructor would.
"""

import os
import shutil
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from grader import submissions  # noqa: E402
from grader.course import ASSIGNMENT  # noqa: E402
from grader.report import default_db_url, exercise_scores  # noqa: E402

BIN = os.path.dirname(sys.executable)


def run_nbgrader(course_root, *args):
    """Run one nbgrader command on a course root, from the repository (so its config applies).

    returns: CompletedProcess with text stdout and stderr; raises if nbgrader exits non-zero
    """
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    command = [os.path.join(BIN, "nbgrader"), *args, f"--CourseDirectory.root={course_root}"]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr[-4000:]}")
    return result


def make_course(root):
    """A fresh course root holding a copy of source/ and the generated release/."""
    shutil.copytree(os.path.join(REPO_ROOT, "source"), os.path.join(root, "source"),
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    run_nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    return root


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """The sample class and the whole corpus, autograded together in one fresh course.

    returns: dict with "root", "submissions" (name -> Submission) and "scores"
             (name -> exercise -> (score, max_score)) read from the gradebook
    """
    root = make_course(str(tmp_path_factory.mktemp("course")))
    cases = submissions.read_directory(submissions.SAMPLE_CLASS_DIR)
    cases += submissions.read_directory(submissions.CORPUS_DIR)
    names = [case.name for case in cases]
    assert len(names) == len(set(names)), "sample class and corpus must not share a name"
    for case in cases:
        submissions.write_submission(case, root, release_root=root)
    run_nbgrader(root, "autograde", ASSIGNMENT, "--force")
    run_nbgrader(root, "generate_feedback", ASSIGNMENT, "--force")
    run_nbgrader(root, "export", f"--to={os.path.join(root, 'grades.csv')}")
    return {
        "root": root,
        "submissions": {case.name: case for case in cases},
        "scores": exercise_scores(default_db_url(root)),
    }
