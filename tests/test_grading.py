"""The round trip through nbgrader: every sample student and corpus case gets exactly its scores.

The corpus (tests/corpus) holds known-wrong answers, which the hidden tests must reject, and
correct answers written differently, which they must accept. The sample class (tests/sample_class)
is what submitted/ holds.
"""

import glob
import html
import os
import re

import nbformat
import pytest

from grader.course import EXERCISES, assignment_folder, notebook_path
from grader.report import final_scores
from grader.site import read_grades_csv
from tools import submissions

pytestmark = pytest.mark.xdist_group("batch")  # with the other tests of the shared batch

CASES = [case.name for case in submissions.read_directory(submissions.SAMPLE_CLASS_DIR)]
CASES += [case.name for case in submissions.read_directory(submissions.CORPUS_DIR)]


@pytest.mark.parametrize("name", CASES)
def test_scores_match_expectations(graded_course, name):
    case = graded_course["submissions"][name]
    expected = submissions.expected_scores(case, graded_course["root"])
    actual = {exercise: score for exercise, (score, _) in graded_course["scores"][name].items()}
    assert actual == expected, f"{name} ({case.description}): got {actual}, expected {expected}"
    assert graded_course["penalties"].get(name, 0.0) == case.expected_penalty, name


def test_every_corpus_case_says_what_it_tests():
    full = submissions.expected_scores(submissions.Submission(name="full", description=""))
    for case in submissions.read_directory(submissions.CORPUS_DIR):
        assert case.description and case.description != case.name, f"{case.name} needs a docstring"
        loses_points = submissions.expected_scores(case) != full
        assert loses_points == case.name.startswith("wrong_"), f"{case.name}: only 'wrong_' cases lose points"


def test_correct_answers_written_differently_get_full_marks(graded_course):
    full = submissions.expected_scores(submissions.Submission(name="full", description=""))
    correct = [name for name in CASES if name.startswith("ok_") or name in ("alice", "gita", "hana")]
    assert correct
    for name in correct:
        assert {e: s for e, (s, _) in graded_course["scores"][name].items()} == full, name


def test_grades_csv_holds_the_score_after_the_late_penalty(graded_course):
    rows = read_grades_csv(os.path.join(graded_course["root"], "grades.csv"))
    final = final_scores(graded_course["scores"], graded_course["penalties"])
    assert rows == pytest.approx(final)
    assert rows["hana"] == 40.0 and final["hana"] == 40.0  # 50 points, 2 started days late: -20 %


def hidden_test_lines():
    """Every line of code in the master notebook's hidden test regions that students never see
    elsewhere (the release holds the visible tests): what feedback must never show."""
    source = nbformat.read(notebook_path(submissions.REPO_ROOT, "source"), as_version=4)
    release = nbformat.read(notebook_path(submissions.REPO_ROOT, "release"), as_version=4)
    visible = "\n".join(cell.source for cell in release.cells)
    lines = set()
    for cell in source.cells:
        for region in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S):
            lines |= {line.strip() for line in region.splitlines()
                      if len(line.strip()) > 20 and not line.strip().startswith(("#", '"', "f\"", ")"))}
    return {line for line in lines if line not in visible}


def test_feedback_holds_no_hidden_tests(graded_course):
    secrets = hidden_test_lines()
    assert len(secrets) > 20
    pages = glob.glob(os.path.join(assignment_folder(graded_course["root"], "feedback", "*"), "*.html"))
    assert len(pages) == len(graded_course["submissions"])
    for page in pages:
        text = page_text(page)
        shown = [secret for secret in secrets if secret in text]
        assert not shown, f"{page} shows hidden test code: {shown[:3]}"
        assert "hidden tests ran here" in text


def page_text(path):
    """An HTML page's text as a reader sees it: without tags (syntax highlighting splits every line
    of code into spans) and with entities decoded."""
    with open(path, encoding="utf-8") as handle:
        return html.unescape(re.sub(r"<[^>]*>", "", handle.read()))


def test_feedback_explains_failures_with_a_hint(graded_course):
    page = os.path.join(assignment_folder(graded_course["root"], "feedback", "dana"), "gradient_checking.html")
    with open(page, encoding="utf-8") as handle:
        text = handle.read()
    assert "did you compare gradapprox with itself?" in text
    assert EXERCISES[2] in text


def test_feedback_shows_the_late_penalty(graded_course):
    page = os.path.join(assignment_folder(graded_course["root"], "feedback", "hana"), "gradient_checking.html")
    with open(page, encoding="utf-8") as handle:
        text = handle.read()
    assert "Late submission penalty" in text and "40.0 / 50.0" in text


def test_a_blank_stub_says_it_is_not_written_yet(graded_course):
    from conftest import report_of
    messages = [check["message"] for check in report_of(graded_course["root"], "bilal")["checks"]]
    assert all("not written yet" in message and not message.rstrip().endswith(":") for message in messages), messages
