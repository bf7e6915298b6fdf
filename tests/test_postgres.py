"""The gradebook on PostgreSQL: the same grades as SQLite, cell by cell, and a loud failure for a
wrong URL. The test starts its own PostgreSQL server on a free loopback port."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile

import pytest
from conftest import gradebook_rows, make_course, run_nbgrader
from tools import submissions
from grader.course import ASSIGNMENT
from grader.report import exercise_scores


def _postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found and shutil.which("runuser") else None


@pytest.fixture(scope="module")
def postgres_url():
    """A private PostgreSQL server, as the postgres user, on a free loopback port."""
    bindir = _postgres_bin()
    if bindir is None:
        message = "PostgreSQL is not installed (apt-get install postgresql)"
        if os.environ.get("GRADER_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"the PostgreSQL tests must run here, but {message}")
        pytest.skip(message)
    data = tempfile.mkdtemp(prefix="gc-postgres-")
    shutil.chown(data, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def as_postgres(*command):
        subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True, cwd="/")

    as_postgres(f"{bindir}/initdb", "-D", f"{data}/db", "-A", "trust", "-U", "grader")
    as_postgres(f"{bindir}/pg_ctl", "-D", f"{data}/db", "-w", "-l", f"{data}/log",
                "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start")
    try:
        as_postgres(f"{bindir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "grader", "gradebook")
        yield f"postgresql://grader@127.0.0.1:{port}/gradebook"
    finally:
        as_postgres(f"{bindir}/pg_ctl", "-D", f"{data}/db", "-m", "immediate", "stop")
        shutil.rmtree(data, ignore_errors=True)


def grade_sample_class(course, env=None):
    """Autograde the sample class in a fresh course whose gradebook is the one env names."""
    os.remove(os.path.join(course, "gradebook.db"))  # make_course's own, so that nothing falls back to it
    sample = submissions.read_directory(submissions.SAMPLE_CLASS_DIR)
    for case in sample:
        submissions.write_submission(case, course, release_root=course)
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", env=env)
    run_nbgrader(course, "autograde", ASSIGNMENT, "--force", env=env)
    return sample


def test_postgres_gradebook_holds_the_same_grades_as_sqlite(postgres_url, tmp_path):
    on_postgres = make_course(str(tmp_path / "postgres"))
    sample = grade_sample_class(on_postgres, env={"GRADEBOOK_URL": postgres_url})
    assert not os.path.exists(os.path.join(on_postgres, "gradebook.db")), "nbgrader wrote to SQLite instead"
    on_sqlite = make_course(str(tmp_path / "sqlite"))
    grade_sample_class(on_sqlite)
    sqlite_url = "sqlite:///" + os.path.join(on_sqlite, "gradebook.db")
    on_both = gradebook_rows(postgres_url)
    assert len(on_both) > 7 * 7 and on_both == gradebook_rows(sqlite_url)
    scores = exercise_scores(postgres_url)
    for case in sample:
        expected = submissions.expected_scores(case, on_postgres)
        assert {e: score for e, (score, _) in scores[case.name].items()} == expected, case.name


def test_a_wrong_gradebook_url_fails_loudly(tmp_path):
    course = make_course(str(tmp_path / "course"))
    os.remove(os.path.join(course, "gradebook.db"))
    result = run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", check=False,
                          env={"GRADEBOOK_URL": "postgresql://grader@127.0.0.1:1/nowhere"})
    assert result.returncode != 0
    assert "connection" in (result.stdout + result.stderr).lower()
    assert not os.path.exists(os.path.join(course, "gradebook.db")), "it fell back to SQLite"
