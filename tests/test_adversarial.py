"""Hostile submissions, graded in the same batch as the honest ones: exact scores, and nothing
outside the submissions changes. Each case in tests/adversarial says what it tries."""

import glob
import json
import os
import re
import subprocess
import sys

import pytest

from tools import submissions
from grader.course import ASSIGNMENT, NOTEBOOK

CASES = submissions.read_directory(submissions.ADVERSARIAL_DIR)


def report(graded_course, name):
    path = os.path.join(graded_course["root"], "autograded", name, ASSIGNMENT, "grading_report.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def autograded_text(graded_course, name):
    with open(os.path.join(graded_course["root"], "autograded", name, ASSIGNMENT, NOTEBOOK), encoding="utf-8") as handle:
        return handle.read()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_scores_and_reasons(graded_course, case):
    expected = submissions.expected_scores(case, graded_course["root"])
    actual = {exercise: score for exercise, (score, _) in graded_course["scores"][case.name].items()}
    assert actual == expected, f"{case.name} ({case.description})"
    graded = report(graded_course, case.name)
    for note in case.expected_notes:
        assert any(note in line for line in graded["notes"]), (note, graded["notes"])
    if case.expected_kernel:
        assert case.expected_kernel in (graded["kernel_problem"] or ""), graded["kernel_problem"]
    else:
        assert graded["kernel_problem"] is None, graded["kernel_problem"]


def test_honest_submissions_in_the_same_batch_get_full_marks(graded_course):
    for name in ("alice", "gita", "ok_cs231n_in_place", "ok_manual_norms", "ok_noisy"):
        assert all(score == full for score, full in graded_course["scores"][name].values()), name


def test_nothing_outside_the_submissions_changed(graded_course):
    """Only intake may touch a submission folder: it adds the renamed notebook's copy under the
    assignment's name and keeps a repaired notebook's original; nothing else changes."""
    before, after = graded_course["before"], graded_course["after"]
    changed = {path for path in set(before) | set(after) if before.get(path) != after.get(path)}
    renamed = f"submitted/adv_renamed_notebook/{ASSIGNMENT}/"
    for case in ("adv_invalid_json_repairable", "adv_invalid_json_truncated"):
        folder = f"submitted/{case}/{ASSIGNMENT}/"
        assert after[folder + NOTEBOOK + ".original"] == before[folder + NOTEBOOK]
        changed -= {folder + NOTEBOOK, folder + NOTEBOOK + ".original"}
    assert after[renamed + "my_solution.ipynb"] == before[renamed + "my_solution.ipynb"]
    assert changed == {renamed + NOTEBOOK}
    assert graded_course["canary"] == "untouched"
    assert graded_course["trap_requests"] == []


def test_nothing_could_be_read_or_written_outside(graded_course):
    leaked = re.findall(r"LEAKED: ([^\\]+)", autograded_text(graded_course, "adv_read_outside"))
    assert all(path.startswith((sys.prefix, sys.base_prefix)) for path in leaked), leaked  # package data only
    written = autograded_text(graded_course, "adv_write_outside")
    assert re.findall(r"WROTE: ([^\\]+)", written) == ["/tmp/gc-adversarial-canary.txt"]  # its private /tmp
    assert re.findall(r"REACHED: ([^\\]+)", autograded_text(graded_course, "adv_network")) == []


def test_no_process_outlives_its_grading(graded_course):
    survivors = subprocess.run(["pgrep", "-f", "gc-adversarial-daemon|sleep 600"], capture_output=True, text=True)
    assert survivors.stdout.strip() == ""


def test_outputs_are_truncated_and_notebooks_stay_small(graded_course):
    paths = glob.glob(os.path.join(graded_course["root"], "autograded", "*", ASSIGNMENT, NOTEBOOK))
    assert paths
    for path in paths:
        assert os.path.getsize(path) < 1_500_000, path
    assert "output truncated" in autograded_text(graded_course, "adv_huge_output")


def test_every_graded_cell_is_scored_never_left_for_manual_grading(graded_course):
    from nbgrader.api import Gradebook
    from grader.report import COURSE_ID, default_db_url
    with Gradebook(default_db_url(graded_course["root"]), COURSE_ID) as gradebook:
        for name in graded_course["scores"]:
            notebook = gradebook.find_submission_notebook("gradient_checking", ASSIGNMENT, name)
            assert not notebook.needs_manual_grade, name
            assert all(grade.auto_score is not None for grade in notebook.grades if grade.cell_type == "code"), name


def test_reports_say_where_the_time_went(graded_course):
    timings = report(graded_course, "alice")["timings"]
    assert set(timings) == {"prepare", "kernel_start", "student_cells", "judging"}
    assert all(timings[step] > 0 for step in ("prepare", "student_cells", "judging")), timings
    assert 0 <= timings["kernel_start"] < 0.3, f"alice waited for her kernel, which was not started ahead: {timings}"
    assert sum(timings.values()) <= report(graded_course, "alice")["seconds"]
