"""The round trip through nbgrader: every sample student and corpus case gets exactly its scores.

The corpus (tests/corpus) holds known-wrong answers, which the hidden tests must reject, and
correct answers written differently, which they must accept. The sample class (tests/sample_class)
is what submitted/ holds.
"""

import glob
import os

import pytest

from tools import submissions
from grader.course import EXERCISES
from grader.site import read_grades_csv

CASES = [case.name for case in submissions.read_directory(submissions.SAMPLE_CLASS_DIR)]
CASES += [case.name for case in submissions.read_directory(submissions.CORPUS_DIR)]


@pytest.mark.parametrize("name", CASES)
def test_scores_match_expectations(graded_course, name):
    case = graded_course["submissions"][name]
    expected = submissions.expected_scores(case, graded_course["root"])
    actual = {exercise: score for exercise, (score, _) in graded_course["scores"][name].items()}
    assert actual == expected, f"{name} ({case.description}): got {actual}, expected {expected}"


def test_every_corpus_case_says_what_it_tests():
    full = submissions.expected_scores(submissions.Submission(name="full", description=""))
    for case in submissions.read_directory(submissions.CORPUS_DIR):
        assert case.description and case.description != case.name, f"{case.name} needs a docstring"
        loses_points = submissions.expected_scores(case) != full
        assert loses_points == case.name.startswith("wrong_"), f"{case.name}: only 'wrong_' cases lose points"


def test_correct_answers_written_differently_get_full_marks(graded_course):
    full = submissions.expected_scores(submissions.Submission(name="full", description=""))
    correct = [name for name in CASES if name.startswith("ok_") or name in ("alice", "gita")]
    assert correct
    for name in correct:
        assert {e: s for e, (s, _) in graded_course["scores"][name].items()} == full, name


def test_grades_csv_matches_gradebook(graded_course):
    rows = read_grades_csv(os.path.join(graded_course["root"], "grades.csv"))
    for name, per_exercise in graded_course["scores"].items():
        assert rows[name] == pytest.approx(sum(score for score, _ in per_exercise.values())), name


def test_feedback_holds_no_hidden_tests(graded_course):
    pages = glob.glob(os.path.join(graded_course["root"], "feedback", "*", "*", "*.html"))
    assert len(pages) == len(graded_course["submissions"])
    for page in pages:
        with open(page, encoding="utf-8") as handle:
            html = handle.read()
        for secret in ("BEGIN HIDDEN TESTS", "_cubic_cost", "_largest_entry", "parameters_before", "wrong_vector"):
            assert secret not in html, f"{page} shows {secret!r}"
        assert "hidden tests ran here" in html


def test_feedback_explains_failures_with_a_hint(graded_course):
    page = glob.glob(os.path.join(graded_course["root"], "feedback", "dana", "*", "*.html"))[0]
    with open(page, encoding="utf-8") as handle:
        html = handle.read()
    assert "did you compare gradapprox with itself?" in html
    assert EXERCISES[2] in html
