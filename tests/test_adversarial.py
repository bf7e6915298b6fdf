"""Hostile and broken submissions, graded in the same batch as the honest ones: exact scores and
reasons, and nothing outside the submissions changes. Each case in tests/adversarial says what it
tries; the classes are the kernel (adv_*), the submission's files (adv_file_*), the notebook's bytes
and structure (adv_nb_*), the instructor's browser (adv_markup_*, see test_site and
test_formgrader) and the grader's resources (adv_reply_*, adv_slow_*)."""

import glob
import os
import re
import subprocess
import sys

import pytest

from conftest import BATCH_LIMITS, notebook_text, report_of
from grader import intake
from grader.course import ASSIGNMENT, REPORT_NAME, assignment_folder, course_directory
from tools import submissions

pytestmark = pytest.mark.xdist_group("batch")  # with the other tests of the shared batch

CASES = submissions.read_directory(submissions.ADVERSARIAL_DIR)
CLASSES = ("adv_file_", "adv_nb_", "adv_markup_", "adv_reply_", "adv_slow_")


def test_every_class_of_threat_has_cases():
    for prefix in CLASSES:
        assert any(case.name.startswith(prefix) for case in CASES), prefix


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_scores_and_reasons(graded_course, case):
    expected = submissions.expected_scores(case, graded_course["root"])
    actual = {exercise: score for exercise, (score, _) in graded_course["scores"][case.name].items()}
    assert actual == expected, f"{case.name} ({case.description})"
    graded = report_of(graded_course["root"], case.name)
    for note in case.expected_notes:
        assert any(note in line for line in graded["notes"]), (note, graded["notes"])
    for note in case.unexpected_notes:
        assert note not in repr(graded["notes"]), graded["notes"]
    failures = [check["message"] for check in graded["checks"] if not check["passed"]]
    for text in case.expected_failures:
        assert any(text in message for message in failures), (text, failures)
    if case.expected_kernel:
        assert case.expected_kernel in (graded["kernel_problem"] or ""), graded["kernel_problem"]
    else:
        assert graded["kernel_problem"] is None, graded["kernel_problem"]


def test_honest_submissions_in_the_same_batch_get_full_marks(graded_course):
    for name in ("alice", "gita", "ok_cs231n_in_place", "ok_manual_norms", "ok_noisy"):
        assert all(score == full for score, full in graded_course["scores"][name].values()), name


def test_nothing_outside_the_submissions_changed(graded_course):
    """source/, release/, the configuration and the gradebook's master copy are as they were; in
    submitted/, intake only moved refused entries aside (never changing one), and nothing else."""
    before, after = graded_course["before"], graded_course["after"]
    assert graded_course["sources_after"] == graded_course["sources_before"]
    refused = f"submitted/{intake.REFUSED_FOLDER}/"
    moved = {path for path in after if path.startswith(refused)}
    for path, digest in before.items():
        if after.get(path) != digest:
            assert path.startswith("submitted/"), f"{path} changed"
            assert any(after[new] == digest for new in moved), f"{path} changed, and is not kept aside"
    assert set(after) - set(before) == moved
    assert graded_course["canary"] == "untouched"
    assert graded_course["trap_requests"] == []


def test_no_page_or_notebook_holds_anything_from_outside_the_students_own_submission(graded_course):
    """Feedback, autograded notebooks and reports never carry a course, grader or system file."""
    root = graded_course["root"]
    secrets = {"the master notebook": "BEGIN HIDDEN TESTS", "nbgrader_config.py": "c.Autograde.exporter_class",
               "/etc/passwd": "root:x:0:0", "the grader's answer key": "def backward_propagation_n(X, Y, cache):\n    \"\"\"Correct"}
    for step in ("autograded", "feedback"):
        for path in glob.glob(os.path.join(assignment_folder(root, step, "adv_*"), "**"), recursive=True):
            if os.path.isfile(path) and not path.endswith(".ipynb" if step == "autograded" else "~"):
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
                for what, secret in secrets.items():
                    assert secret not in text, f"{path} holds {what}"
    for student in ("adv_file_notebook_links_to_master", "adv_file_folder_links_to_source"):
        assert "BEGIN SOLUTION" not in notebook_text(root, "autograded", student)


def test_every_folder_is_graded_even_without_a_notebook(graded_course):
    """A folder without a notebook has a gradebook row, grades.csv, a report and feedback."""
    from grader.site import read_grades_csv
    root = graded_course["root"]
    assert read_grades_csv(os.path.join(root, "grades.csv"))["adv_file_no_notebook"] == 0.0
    assert os.path.isfile(os.path.join(assignment_folder(root, "feedback", "adv_file_no_notebook"), "gradient_checking.html"))


def test_nothing_could_be_read_or_written_outside(graded_course):
    root = graded_course["root"]
    leaked = re.findall(r"LEAKED: ([^\\]+)", notebook_text(root, "autograded", "adv_read_outside"))
    assert all(path.startswith((sys.prefix, sys.base_prefix, "/usr")) for path in leaked), leaked  # package data only
    assert re.findall(r"WROTE: ([^\\]+)", notebook_text(root, "autograded", "adv_write_outside")) == []
    assert re.findall(r"REACHED: ([^\\]+)", notebook_text(root, "autograded", "adv_network")) == []


def test_no_process_outlives_its_grading(graded_course):
    survivors = subprocess.run(["pgrep", "-f", "gc-adversarial-daemon|sleep 600"], capture_output=True, text=True)
    assert survivors.stdout.strip() == ""


def test_outputs_are_truncated_and_notebooks_stay_small(graded_course):
    paths = glob.glob(os.path.join(assignment_folder(graded_course["root"], "autograded", "*"), "*.ipynb"))
    assert len(paths) == len(graded_course["submissions"])
    for path in paths:
        assert os.path.getsize(path) < 1_500_000, path
    assert "output truncated" in notebook_text(graded_course["root"], "autograded", "adv_huge_output")


def test_every_graded_cell_is_scored_never_left_for_manual_grading(graded_course):
    from nbgrader.api import Gradebook
    coursedir = course_directory(graded_course["root"])
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        for name in graded_course["scores"]:
            notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, name)
            assert not notebook.needs_manual_grade, name
            assert all(grade.auto_score is not None for grade in notebook.grades if grade.cell_type == "code"), name


def test_the_grader_process_stays_within_its_memory_bound(graded_course):
    """The largest hostile replies (100 MB, 20 MB, 100,000-deep JSON) leave the grader's peak resident
    memory under the bound SECURITY.md states."""
    peaks = {name: report_of(graded_course["root"], name)["grader_peak_mib"] for name in graded_course["submissions"]}
    assert max(peaks.values()) < 400, sorted(peaks.items(), key=lambda item: -item[1])[:3]
    print(f"grader peak RSS after the hostile replies: {peaks['adv_reply_huge']:.0f} and "
          f"{peaks['adv_reply_large_or_deep']:.0f} MiB; over the whole batch: {max(peaks.values()):.0f} MiB")


def test_a_student_slow_only_in_the_hidden_tests_costs_at_most_the_budget(graded_course):
    budget = float(next(flag for flag in BATCH_LIMITS if "test_budget" in flag).split("=")[1])
    timings = report_of(graded_course["root"], "adv_slow_hidden_tests")["timings"]
    assert budget <= timings["judging"] < budget + 8, timings


def test_reports_say_where_the_time_went(graded_course):
    report = report_of(graded_course["root"], "alice")
    timings = report["timings"]
    assert set(timings) == {"prepare", "kernel_start", "student_cells", "judging"}
    assert all(timings[step] > 0 for step in ("prepare", "student_cells", "judging")), timings
    # (prepare, copying the master files for the kernel, is done ahead of need, before the submission starts)
    assert timings["kernel_start"] + timings["student_cells"] + timings["judging"] <= report["seconds"]
    # Kernels are started ahead of need: a submission rarely waits for its own. (One may, when the
    # submission before it on its worker ended at once, a crash say, before the next kernel was up.)
    waits = sorted(report_of(graded_course["root"], case.name)["timings"]["kernel_start"]
                   for case in submissions.read_directory(submissions.SAMPLE_CLASS_DIR))
    # (measured: a median of 0.001 s; 0.21 s when the pool starts a kernel only once one is asked for)
    assert waits[0] >= 0 and waits[len(waits) // 2] < 0.1, f"the sample class waited for its kernels: {waits}"


def test_the_report_students_receive_has_no_timings_or_fingerprints(graded_course):
    import json
    with open(os.path.join(assignment_folder(graded_course["root"], "feedback", "hana"), REPORT_NAME)) as handle:
        released = json.load(handle)
    assert set(released) == {"student", "assignment", "notebook", "score", "max_score", "kernel_problem", "notes",
                             "checks", "late_penalty", "score_after_penalty"}
    assert released["late_penalty"] == 10.0 and released["score_after_penalty"] == 40.0


def test_printed_reports_hold_no_control_characters(graded_course):
    printed = ""
    for arguments in ([], ["--student", "adv_markup_in_messages"], ["--student", "adv_file_links_and_special_files"]):
        printed += subprocess.run([sys.executable, "-m", "grader.report", "--course-root", graded_course["root"], *arguments],
                                  capture_output=True, text=True, check=True).stdout
    assert "STUDENT-MESSAGE" in printed and "[31mred" in printed
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", printed), "a control character reached the terminal"
