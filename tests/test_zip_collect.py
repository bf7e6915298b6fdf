"""nbgrader zip_collect for LMS downloads (grader/lms.py): Canvas, Moodle and Blackboard name the files
of their "download all submissions" zip each their own way; each lands in submitted/<student>/ with the
time the LMS gave, and the autograde that follows grades it whatever the notebook is called."""

import os
import zipfile

import nbformat
import pytest

from conftest import make_course, run_nbgrader, scores_of
from grader.course import ASSIGNMENT, assignment_folder
from tools.submissions import Submission, build_notebook

DOWNLOADS = {
    "canvas": {"smithjane_12345_678901_gradient_checking.ipynb": "smithjane",
               "doejohn_LATE_23456_789012_gradient_checking-1.ipynb": "doejohn"},
    "moodle": {"Jane Smith_12345_assignsubmission_file_/gradient_checking.ipynb": "12345",
               "John Doe_23456_assignsubmission_file_gradient_checking.ipynb": "23456"},
    "blackboard": {"Gradient Checking_jsmith_attempt_2026-11-20-17-30-00_gradient_checking.ipynb": "jsmith",
                   "Gradient Checking_jdoe_attempt_2026-11-22-09-00-00_my answers.ipynb": "jdoe"},
}


@pytest.mark.parametrize("lms", sorted(DOWNLOADS))
def test_an_lms_download_is_collected_under_each_students_id(lms, tmp_path):
    root = make_course(str(tmp_path / "course"))
    archive = os.path.join(root, "downloaded", ASSIGNMENT, "archive")
    os.makedirs(archive)
    notebook = nbformat.writes(build_notebook(Submission("correct", "")))
    with zipfile.ZipFile(os.path.join(archive, f"{lms}.zip"), "w") as bundle:
        for name in DOWNLOADS[lms]:
            bundle.writestr(name, notebook)
        bundle.writestr("readme.txt", "not a submission")
    run_nbgrader(root, "zip_collect", ASSIGNMENT, f"--LmsFileNameCollector.lms={lms}")
    for student in DOWNLOADS[lms].values():
        folder = assignment_folder(root, "submitted", student)
        assert [name for name in os.listdir(folder) if name.endswith(".ipynb")], f"{lms}: nothing for {student}"
    if lms != "blackboard":
        return
    with open(os.path.join(assignment_folder(root, "submitted", "jdoe"), "timestamp.txt")) as handle:
        assert handle.read().startswith("2026-11-22 09:00:00")
    run_nbgrader(root, "autograde", ASSIGNMENT)  # the notebooks are graded whatever their names
    scores, penalties = scores_of(root)
    assert {student: sum(s for s, _ in per.values()) for student, per in scores.items()} == {
        student: 50.0 for student in DOWNLOADS[lms].values()}
    assert penalties == {"jsmith": 0.0, "jdoe": 10.0}  # 2026-11-22 09:00: two started days late
