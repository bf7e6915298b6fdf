"""A term through nbgrader's exchange on one machine, with real accounts: an instructor who is not root
and two students, each with their own home.

release_assignment, fetch_assignment, submit, collect, autograde, generate_feedback, release_feedback
and fetch_feedback, with a resubmission collected by `collect --update` and regraded; and the two
ways students attack collect: submitting under another student's name, and planting a link that
would make collect copy the instructor's source/ (solutions and hidden tests) as their own.
"""

import glob
import re
import os
import shutil
import subprocess
import time

import nbformat
import pytest

from conftest import BIN, REPO_ROOT, make_course, scores_of
from grader.course import ASSIGNMENT, NOTEBOOK, assignment_folder
from tools.submissions import Submission, build_notebook
from users import accounts, home_of, nbgrader_as, run_as

pytestmark = pytest.mark.xdist_group("accounts")

COURSE_ID = "gradient-checking"


@pytest.fixture(scope="module")
def exchange_course(tmp_path_factory):
    """The accounts, a course owned by the instructor, and an exchange folder every account can use."""
    with accounts("gcinstructor", "gcstudent1", "gcstudent2") as uids:
        exchange = home_of(0)
        os.chmod(exchange, 0o777)
        instructor = uids["gcinstructor"]
        root = os.path.join(home_of(instructor), "course")
        make_course(root)
        with open(os.path.join(root, "nbgrader_config.py"), "w") as handle:  # this term's deadline is ahead
            handle.write(f"load_subconfig('nbgrader_config.py', path={REPO_ROOT!r})\n"
                         "c.ApplyDueDate.due_dates = {'gradient_checking': '2099-12-31 23:59:00 UTC'}\n")
        subprocess.run(["chown", "-R", f"{instructor}:{instructor}", root], check=True)
        homes = {name: home_of(uid) for name, uid in uids.items() if name.startswith("gcstudent")}
        yield {"uids": uids, "root": root, "exchange": exchange, "homes": homes}
        for folder in [exchange, os.path.dirname(root), *homes.values()]:
            shutil.rmtree(folder, ignore_errors=True)


def instructor(course, *args, check=True):
    return nbgrader_as(course["uids"]["gcinstructor"], course["root"], *args,
                       env={"NBGRADER_EXCHANGE": course["exchange"]}, check=check)


def student(course, name, *args, check=True):
    """An nbgrader command as a student, in their home, with only the course id and exchange given."""
    return run_as(course["uids"][name], [os.path.join(BIN, "nbgrader"), *args, f"--course={COURSE_ID}",
                                         f"--Exchange.root={course['exchange']}"],
                  cwd=course["homes"][name], check=check)


def answer(course, name, submission):
    """The student writes a submission's answers into the notebook they fetched."""
    path = os.path.join(course["homes"][name], ASSIGNMENT, NOTEBOOK)
    fetched = nbformat.read(path, as_version=4)
    built = build_notebook(submission)
    for cell, answer_cell in zip(fetched.cells, built.cells):
        cell.source = answer_cell.source
    nbformat.write(fetched, path)
    os.chown(path, course["uids"][name], course["uids"][name])


def test_a_term_through_the_exchange(exchange_course):
    course = exchange_course
    instructor(course, "release_assignment", ASSIGNMENT)
    for name in ("gcstudent1", "gcstudent2"):
        student(course, name, "fetch_assignment", ASSIGNMENT)
    answer(course, "gcstudent1", Submission("correct", ""))                      # every answer right
    answer(course, "gcstudent2", Submission("blank", "", base="release"))        # nothing written yet
    for name in ("gcstudent1", "gcstudent2"):
        student(course, name, "submit", ASSIGNMENT)

    # gcstudent2 submits a wrong notebook under gcstudent1's name, and plants a link into source/.
    answer(course, "gcstudent2", Submission("wrong", "", base="release"))
    time.sleep(1.1)  # a later submission time than gcstudent1's own
    student(course, "gcstudent2", "submit", ASSIGNMENT, "--student=gcstudent1")
    inbound = os.path.join(course["exchange"], COURSE_ID, "inbound")
    planted = os.path.join(inbound, f"gcstudent2+{ASSIGNMENT}+2099-01-01 00:00:00.000000 UTC+planted")
    run_as(course["uids"]["gcstudent2"], ["ln", "-s", assignment_folder(course["root"], "source"), planted],
           cwd=course["homes"]["gcstudent2"])

    collected = instructor(course, "collect", ASSIGNMENT)
    assert "it names gcstudent1 but is owned by gcstudent2" in collected.stderr
    assert "not a real folder" in collected.stderr
    instructor(course, "autograde", ASSIGNMENT)
    scores, _ = scores_of(course["root"])
    assert sum(score for score, _ in scores["gcstudent1"].values()) == 50  # not the impostor's notebook
    assert sum(score for score, _ in scores["gcstudent2"].values()) == 0  # the blank one, not source/
    for name in ("gcstudent1", "gcstudent2"):
        submitted = assignment_folder(course["root"], "submitted", name)
        text = open(os.path.join(submitted, NOTEBOOK), encoding="utf-8").read()
        assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text

    # gcstudent2 resubmits correct work; collect --update takes it, and autograde regrades it.
    answer(course, "gcstudent2", Submission("correct", ""))
    student(course, "gcstudent2", "submit", ASSIGNMENT)
    instructor(course, "collect", ASSIGNMENT, "--update")
    instructor(course, "autograde", ASSIGNMENT, "--student=gcstudent2", "--force")
    scores, _ = scores_of(course["root"])
    assert sum(score for score, _ in scores["gcstudent2"].values()) == 50

    instructor(course, "generate_feedback", ASSIGNMENT)
    instructor(course, "release_feedback", ASSIGNMENT)
    for name in ("gcstudent1", "gcstudent2"):
        student(course, name, "fetch_feedback", ASSIGNMENT)
        pages = glob.glob(os.path.join(course["homes"][name], ASSIGNMENT, "feedback", "*", "*.html"))
        assert pages, f"{name} fetched no feedback"
        newest = max(pages, key=os.path.getmtime)
        text = open(newest, encoding="utf-8").read()
        assert "50.0 / 50.0" in text and "BEGIN HIDDEN TESTS" not in text, (name, newest, re.findall(r"Score: [^<]*", text))
