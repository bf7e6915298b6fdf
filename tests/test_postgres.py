"""The gradebook on PostgreSQL: the same grades as SQLite, cell by cell, and a loud failure for a
wrong URL. The test starts its own PostgreSQL server on a free loopback port."""

import glob
import os
import shutil
import subprocess
import tempfile

import pytest
from conftest import BATCH_LIMITS, free_port, gradebook_rows, make_course, run_nbgrader, write_cases
from grader.course import ASSIGNMENT, course_directory
from tools import submissions

pytestmark = pytest.mark.xdist_group("parity")


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
    port = free_port()

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


def test_postgres_gradebook_holds_the_same_grades_as_sqlite(postgres_url, serial_subset, tmp_path):
    """The sample class graded on PostgreSQL holds, cell by cell, what the reference run holds on SQLite."""
    course = make_course(str(tmp_path / "postgres"))
    os.remove(os.path.join(course, "gradebook.db"))  # make_course's own, so that nothing falls back to it
    sample = submissions.read_directory(submissions.SAMPLE_CLASS_DIR)
    write_cases(course, sample)
    env = {"GRADEBOOK_URL": postgres_url}
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", env=env)
    run_nbgrader(course, "autograde", ASSIGNMENT, "--force", *BATCH_LIMITS, env=env)
    assert not os.path.exists(os.path.join(course, "gradebook.db")), "nbgrader wrote to SQLite instead"
    students = [case.name for case in sample]
    on_postgres = gradebook_rows(postgres_url, students)
    assert len(on_postgres) > 8 * len(students)
    assert on_postgres == gradebook_rows(course_directory(serial_subset["root"]).db_url, students)


def test_a_wrong_gradebook_url_fails_loudly(tmp_path):
    course = make_course(str(tmp_path / "course"))
    os.remove(os.path.join(course, "gradebook.db"))
    result = run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", check=False,
                          env={"GRADEBOOK_URL": "postgresql://grader@127.0.0.1:1/nowhere"})
    assert result.returncode != 0
    assert "connection" in (result.stdout + result.stderr).lower()
    assert not os.path.exists(os.path.join(course, "gradebook.db")), "it fell back to SQLite"
