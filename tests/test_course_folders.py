"""A course whose folders are not nbgrader's default names: everything reads them from nbgrader's
CourseDirectory (the course's nbgrader_config.py), never from a fixed path."""

import os
import shutil

import pytest

from conftest import REPO_ROOT, run_nbgrader, scores_of, write_cases
from grader.course import ASSIGNMENT, REPORT_NAME, assignment_folder, step_folder
from grader.site import build_site
from tools import submissions

FOLDERS = {"source_directory": "master", "release_directory": "student_version", "submitted_directory": "handed_in",
           "autograded_directory": "graded", "feedback_directory": "returned"}


@pytest.mark.slow
def test_a_course_with_its_own_folder_names_is_graded_reported_and_published(tmp_path):
    root = str(tmp_path / "course")
    shutil.copytree(os.path.join(REPO_ROOT, "source", ASSIGNMENT), os.path.join(root, "master", ASSIGNMENT),
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(os.path.join(root, "nbgrader_config.py"), "w") as handle:
        handle.write(f"load_subconfig('nbgrader_config.py', path={REPO_ROOT!r})\n")
        handle.writelines(f"c.CourseDirectory.{trait} = {name!r}\n" for trait, name in FOLDERS.items())
    run_nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    names = ("alice", "hana", "adv_renamed_notebook", "adv_file_no_notebook")
    cases = [case for directory in (submissions.SAMPLE_CLASS_DIR, submissions.ADVERSARIAL_DIR)
             for case in submissions.read_directory(directory) if case.name in names]
    write_cases(root, cases)
    assert sorted(os.listdir(os.path.join(root, "handed_in"))) == sorted(names)
    run_nbgrader(root, "autograde", ASSIGNMENT)
    run_nbgrader(root, "generate_feedback", ASSIGNMENT)
    run_nbgrader(root, "export", f"--to={os.path.join(root, 'grades.csv')}")
    scores, penalties = scores_of(root)
    for case in cases:
        assert {e: s for e, (s, _) in scores[case.name].items()} == submissions.expected_scores(case, root), case.name
    assert penalties["hana"] == 10.0
    for student in names:
        assert os.path.isfile(os.path.join(assignment_folder(root, "autograded", student), REPORT_NAME))
        assert os.path.isfile(os.path.join(assignment_folder(root, "feedback", student), f"{ASSIGNMENT}.html"))
    assert step_folder(root, "autograded") == os.path.join(root, "graded")
    assert not any(os.path.exists(os.path.join(root, default)) for default in
                   ("source", "release", "submitted", "autograded", "feedback"))
    pages = build_site(root, str(tmp_path / "site"))
    assert f"feedback/hana/{ASSIGNMENT}/{ASSIGNMENT}.html" in pages
