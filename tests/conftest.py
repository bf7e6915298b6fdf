"""Shared fixtures: one temporary course, generated and autograded once per test session.

The course is a copy of source/ in a temporary root. nbgrader runs there with this repository's
nbgrader_config.py (the root is overridden on the command line), exactly as an instructor would.
"""

import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading

import pytest
from nbgrader.api import Gradebook

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from tools import submissions  # noqa: E402
from grader.course import ASSIGNMENT  # noqa: E402
from grader.report import COURSE_ID, default_db_url, exercise_scores  # noqa: E402

BIN = os.path.dirname(sys.executable)


def run_nbgrader(course_root, *args, env=None, check=True):
    """Run one nbgrader command on a course root, from the repository (so its config applies).

    env -- extra environment variables, such as GRADEBOOK_URL
    returns: CompletedProcess with text stdout and stderr; raises if nbgrader exits non-zero and check
    """
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", ""), **(env or {})}
    command = [os.path.join(BIN, "nbgrader"), *args, f"--CourseDirectory.root={course_root}"]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr[-4000:]}")
    return result


def gradebook_rows(db_url, students=None):
    """What the gradebook holds about submissions, without its random row ids.

    returns: dict (student, "timestamp") -> submission time, and (student, cell) -> (auto_score,
             manual_score, extra_credit, max_score, needs_manual_grade) for every graded cell, and
             (student, cell, "comment") -> (auto_comment, manual_comment); students -- None for all
    """
    rows = {}
    with Gradebook(db_url, COURSE_ID) as gradebook:
        for submission in gradebook.assignment_submissions(ASSIGNMENT):
            student = submission.student.id
            if students is not None and student not in students:
                continue
            rows[(student, "timestamp")] = submission.timestamp
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    rows[(student, grade.name)] = (grade.auto_score, grade.manual_score, grade.extra_credit,
                                                   grade.max_score, grade.needs_manual_grade)
                for comment in notebook.comments:
                    rows[(student, comment.name, "comment")] = (comment.auto_comment, comment.manual_comment)
    return rows


def make_course(root):
    """A fresh course root holding a copy of source/ and the generated release/."""
    shutil.copytree(os.path.join(REPO_ROOT, "source"), os.path.join(root, "source"),
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    run_nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    return root


CANARY = "/tmp/gc-adversarial-canary.txt"
TRAP_PORT = 47613  # adversarial submissions try to reach this loopback port


def snapshot(root, folders=("source", "release", "submitted")):
    """sha256 of every file under the given folders of a course root: dict path -> digest."""
    digests = {}
    for folder in folders:
        for directory, _, files in os.walk(os.path.join(root, folder)):
            for name in files:
                path = os.path.join(directory, name)
                with open(path, "rb") as handle:
                    digests[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return digests


class _Trap(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_GET(self):  # noqa: N802 -- the http.server API
        _Trap.requests.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """The sample class, the corpus and the adversarial cases, autograded together in one fresh course.

    returns: dict with "root", "submissions" (name -> Submission), "scores" (name -> exercise ->
             (score, max_score)) read from the gradebook, "before" and "after" (snapshots of
             source/, release/ and submitted/), "trap_requests" (what reached the loopback trap)
             and "canary" (the host file adversarial code tries to overwrite, after grading)
    """
    root = make_course(str(tmp_path_factory.mktemp("course")))
    cases = []
    for directory in (submissions.SAMPLE_CLASS_DIR, submissions.CORPUS_DIR, submissions.ADVERSARIAL_DIR):
        cases += submissions.read_directory(directory)
    names = [case.name for case in cases]
    assert len(names) == len(set(names)), "sample class, corpus and adversarial cases must not share a name"
    for case in cases:
        submissions.write_submission(case, root, release_root=root)
    with open(CANARY, "w") as handle:
        handle.write("untouched")
    trap = http.server.ThreadingHTTPServer(("127.0.0.1", TRAP_PORT), _Trap)
    threading.Thread(target=trap.serve_forever, daemon=True).start()
    before = snapshot(root)
    try:
        run_nbgrader(root, "autograde", ASSIGNMENT, "--force", "--JudgedExecute.cell_timeout=10")
    finally:
        trap.shutdown()
        trap.server_close()
    after = snapshot(root)
    with open(CANARY) as handle:
        canary = handle.read()
    run_nbgrader(root, "generate_feedback", ASSIGNMENT, "--force")
    run_nbgrader(root, "export", f"--to={os.path.join(root, 'grades.csv')}")
    return {
        "root": root,
        "submissions": {case.name: case for case in cases},
        "scores": exercise_scores(default_db_url(root)),
        "before": before, "after": after,
        "trap_requests": list(_Trap.requests), "canary": canary,
    }
