"""The gradebook on PostgreSQL: the same grades as SQLite, cell by cell, and a loud failure for a
wrong URL. The session's PostgreSQL server (conftest.postgres_url) is started by the tests on a free
loopback port; the serial reference run grades the representative subset on it."""

import os

import pytest
from conftest import gradebook_rows, make_course, run_nbgrader
from grader.course import ASSIGNMENT, course_directory

pytestmark = pytest.mark.xdist_group("batch")  # with the batch, which it is compared with


def test_postgres_gradebook_holds_the_same_grades_as_sqlite(serial_subset, graded_course):
    """The subset graded on PostgreSQL (by plain nbgrader autograde) holds, cell by cell, what the
    batch holds for it on SQLite (graded by grader.parallel)."""
    if not serial_subset["on_postgres"]:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    assert not os.path.exists(os.path.join(serial_subset["root"], "gradebook.db")), "nbgrader wrote to SQLite instead"
    students = serial_subset["students"]
    on_postgres = gradebook_rows(serial_subset["db_url"], students)
    assert len(on_postgres) > 8 * len(students)
    assert on_postgres == gradebook_rows(course_directory(graded_course["root"]).db_url, students)


def test_a_wrong_gradebook_url_fails_loudly(tmp_path):
    course = make_course(str(tmp_path / "course"))
    os.remove(os.path.join(course, "gradebook.db"))
    result = run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", check=False,
                          env={"GRADEBOOK_URL": "postgresql://grader@127.0.0.1:1/nowhere"})
    assert result.returncode != 0
    assert "connection" in (result.stdout + result.stderr).lower()
    assert not os.path.exists(os.path.join(course, "gradebook.db")), "it fell back to SQLite"
