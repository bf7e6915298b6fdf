"""The student's Validate (nbgrader validate, the JupyterLab button) tells the truth, over the whole
sample class and corpus: "Success" on every correct submission, whatever its style, and a failure
only on an exercise that autograde marks down too, naming the exercise with the visible test's
message and hint."""

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from conftest import REPO_ROOT
from grader.course import ASSIGNMENT, NOTEBOOK, exercise_of, notebook_path
from grader.judge import first_line
from tools import submissions

CASES = submissions.read_directory(submissions.SAMPLE_CLASS_DIR) + submissions.read_directory(submissions.CORPUS_DIR)
VALIDATE = """
import json, sys
from nbgrader.validator import Validator
for path in sys.argv[1:]:
    print("VALIDATED " + json.dumps([path, Validator().validate(path)]), flush=True)
"""


def graded_cell_of_docstring():
    """The master notebook's graded cells by the first line they show: dict first line -> grade_id"""
    source = nbformat.read(notebook_path(REPO_ROOT, "source"), as_version=4)
    return {first_line(cell.source): cell.metadata.nbgrader.grade_id for cell in source.cells
            if cell.metadata.get("nbgrader", {}).get("grade")}


def student_folder(case, folder):
    """A copy of the release folder holding a case's notebook, as the student has it. returns: its path"""
    shutil.copytree(os.path.join(REPO_ROOT, "release", ASSIGNMENT), folder, ignore=shutil.ignore_patterns("__pycache__"))
    nbformat.write(submissions.build_notebook(case), os.path.join(folder, NOTEBOOK))
    return os.path.join(folder, NOTEBOOK)


def validate(paths):
    """nbgrader's Validator (what `nbgrader validate` and the Validate button run) on each notebook in
    turn, in one process. returns: dict path -> results dict"""
    result = subprocess.run([sys.executable, "-c", VALIDATE, *paths], capture_output=True, text=True,
                            timeout=60 * len(paths))
    assert result.returncode == 0, result.stderr[-3000:]
    answers = [json.loads(line[len("VALIDATED "):]) for line in result.stdout.splitlines()
               if line.startswith("VALIDATED ")]
    return dict(answers)


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """Every sample student and corpus case validated, in two processes side by side.
    returns: dict name -> results"""
    root = tmp_path_factory.mktemp("validate")
    paths = {case.name: student_folder(case, str(root / case.name)) for case in CASES}
    names = list(paths)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        halves = pool.map(validate, [[paths[name] for name in names[half::2]] for half in (0, 1)])
        by_path = {path: results for half in halves for path, results in half.items()}
    assert sorted(by_path) == sorted(paths.values()), "a notebook was not validated"
    return {name: by_path[path] for name, path in paths.items()}


pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("validate")]


def test_every_correct_submission_gets_success(validated):
    full = submissions.expected_scores(submissions.Submission("full", ""))
    correct = [case.name for case in CASES if submissions.expected_scores(case) == full]
    assert len(correct) >= 6
    for name in correct:
        assert not validated[name].get("failed") and not validated[name].get("changed"), (name, validated[name])


def test_a_failure_is_only_ever_reported_where_autograde_marks_down_too(validated):
    names = graded_cell_of_docstring()
    full = submissions.expected_scores(submissions.Submission("full", ""))
    seen = 0
    for case in CASES:
        expected = submissions.expected_scores(case)
        for failure in validated[case.name].get("failed", []):
            exercise = exercise_of(names[first_line(failure["source"])])
            assert expected[exercise] < full[exercise], f"{case.name}: Validate fails {exercise}, autograde does not"
            assert exercise in failure["error"] or exercise in failure["source"]  # it names the exercise
            seen += 1
    assert seen >= 10  # the visible tests do see many of the wrong answers


@pytest.mark.parametrize("name, exercise, hint", [
    ("bilal", "forward_propagation", "not written yet"),
    ("dana", "gradient_check", "did you compare gradapprox with itself?"),
    ("emeka", "gradient_check", "it must return one number"),
])
def test_a_failure_names_the_exercise_and_gives_the_hint(validated, name, exercise, hint):
    errors = " ".join(failure["error"] for failure in validated[name]["failed"])
    assert exercise in errors and hint in errors, errors[:2000]
