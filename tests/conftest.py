"""Shared fixtures: a template course made once per session, and one batch graded once for all tests.

A course is a copy of source/ in a temporary root with its release generated. nbgrader runs there
with this repository's nbgrader_config.py (the root is given on the command line), exactly as an
instructor would. Every port is a free one and every path a fresh temporary one, so two test runs
can share a machine.
"""

import atexit
import contextlib
import glob
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

import pytest
from nbgrader.api import Gradebook

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from grader.course import ASSIGNMENT, course_directory, notebook_path  # noqa: E402
from grader.report import exercise_scores, late_penalties  # noqa: E402
from tools import submissions  # noqa: E402

BIN = os.path.dirname(sys.executable)
BATCH_LIMITS = ("--JudgedExecute.cell_timeout=10", "--JudgedExecute.test_budget=10")  # hostile cases wait less


SLOW_FIXTURES = {"graded_course", "serial_subset", "committed_both_ways", "site", "lab", "formgrader", "exchange_course", "graded_as_instructor"}
# A representative subset of the batch: the sample class, kernels that crash, and the intake cases.
SUBSET = ("adv_os_exit", "adv_segfault", "adv_renamed_notebook", "adv_invalid_json_truncated", "adv_duplicated_cells",
          "adv_file_no_notebook", "adv_file_links_and_special_files", "adv_file_folder_links_to_source",
          "adv_nb_stripped_moved_retyped", "adv_reply_large_or_deep")


@pytest.hookimpl(tryfirst=True)  # before pytest's -m deselects by marker
def pytest_collection_modifyitems(items):
    """Tests that grade, run notebooks or start servers are `slow` (make test-quick leaves them out)."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(trylast=True)  # after xdist's own hook, which marks each grouped test's id
def pytest_collection_finish(session):
    """With pytest-xdist (make test), the modules that share an expensive fixture are one xdist_group
    each (their `pytestmark`), so that it is made once: the batch with the serial reference run, the accounts.
    xdist marks each grouped test's id with "@group"; if it did not (an upgrade of pytest broke that
    once, and every worker then built the whole batch), the run stops. So does a test that uses one
    of SLOW_FIXTURES (each made once per module or session) outside any group: xdist would spread
    its module's tests over both workers, and each would make the fixture (test_commit's once did,
    22 s more in some runs and not in others).
    """
    if getattr(session.config.option, "loadgroup", False) and os.environ.get("PYTEST_XDIST_WORKER"):
        lost = [item.nodeid for item in session.items
                if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
        ungrouped = [item.nodeid for item in session.items
                     if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("xdist_group")]
        problem = (f"pytest-xdist did not group {len(lost)} tests (first: {lost[0]}); check the pinned pytest and "
                   "pytest-xdist versions" if lost else
                   f"{len(ungrouped)} tests use a fixture made once per module or session but are in no xdist_group, "
                   f"so each worker would make it (first: {ungrouped[0]})" if ungrouped else None)
        if problem:
            sys.stderr.write(f"\n{problem}\n")  # (xdist reports a worker's error only as its own INTERNALERROR)
            raise pytest.UsageError(problem)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_nbgrader(course_root, *args, env=None, check=True, user=None):
    """Run one nbgrader command on a course root, from the repository (so its config applies).

    env -- extra environment variables, such as GRADEBOOK_URL
    user -- run as this unprivileged uid (setpriv), with HOME set to the course root
    returns: CompletedProcess with text stdout and stderr; raises if nbgrader exits non-zero and check
    """
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", ""), **(env or {})}
    command = [os.path.join(BIN, "nbgrader"), *args, f"--CourseDirectory.root={course_root}"]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
        env["HOME"] = course_root
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr[-4000:]}")
    return result


def run_parallel(course_root, *args, wait=True):
    """Start `python -m grader.parallel` on a course, with the batch's limits. returns: the Popen
    (stderr as text), or, with wait, (Popen, summary dict) once it has finished"""
    command = [os.path.join(BIN, "python"), "-m", "grader.parallel", ASSIGNMENT, *BATCH_LIMITS,
               f"--CourseDirectory.root={course_root}", *args]
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    if not wait:
        return process
    return process, finished_summary(process)


def finished_summary(process):
    """The JSON summary grader.parallel prints last; fails if it did not grade everyone."""
    stdout, stderr = process.communicate(timeout=900)
    summary_lines = [line for line in stderr.splitlines() if line.startswith('{"submissions"')]
    assert process.returncode == 0 and summary_lines, f"parallel grading failed:\n{stdout}\n{stderr[-5000:]}"
    return json.loads(summary_lines[-1])


def gradebook_rows(db_url, students=None):
    """What the gradebook holds about submissions, without its random row ids.

    returns: dict (student, "timestamp") -> submission time, (student, "late") -> penalty, and
             (student, cell) -> (auto_score, manual_score, extra_credit, max_score, needs_manual_grade)
             for every graded cell, and (student, cell, "comment") -> (auto_comment, manual_comment);
             students -- None for all
    """
    rows = {}
    with Gradebook(db_url, course_directory().course_id) as gradebook:
        for submission in gradebook.assignment_submissions(ASSIGNMENT):
            student = submission.student.id
            if students is not None and student not in students:
                continue
            rows[(student, "timestamp")] = submission.timestamp
            rows[(student, "late")] = submission.late_submission_penalty
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    rows[(student, grade.name)] = (grade.auto_score, grade.manual_score, grade.extra_credit,
                                                   grade.max_score, grade.needs_manual_grade)
                for comment in notebook.comments:
                    rows[(student, comment.name, "comment")] = (comment.auto_comment, comment.manual_comment)
    return rows


_TEMPLATE = []


def _template_course():
    """A course made once per session: source/ copied and its release and gradebook generated."""
    if not _TEMPLATE:
        root = tempfile.mkdtemp(prefix="gc-template-course-")
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        shutil.copytree(os.path.join(REPO_ROOT, "source"), os.path.join(root, "source"),
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        run_nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
        _TEMPLATE.append(root)
    return _TEMPLATE[0]


def make_course(root):
    """A fresh course root: a copy of the template course (source/, release/ and the gradebook)."""
    shutil.copytree(_template_course(), root, dirs_exist_ok=True)
    os.chmod(root, 0o755)
    return root


def write_cases(root, cases, substitutions=None):
    """Write submissions into a course's submitted/ (sample class first: hostile cases link to alice)."""
    names = [case.name for case in cases]
    assert len(names) == len(set(names)), "cases must not share a name"
    for case in sorted(cases, key=lambda case: (case.name.startswith("adv_"), case.name)):
        submissions.write_submission(case, root, release_root=root, substitutions=substitutions)


def scores_of(root):
    """Per-student, per-exercise scores and late penalties from a course's gradebook."""
    coursedir = course_directory(root)
    return exercise_scores(coursedir), late_penalties(coursedir)


def snapshot(root, folders=("source", "release", "submitted"), files=()):
    """sha256 of every file under the given folders of a course root, and of the given files.

    returns: dict path -> digest (links as "link -> target", never followed)
    """
    digests = {}
    paths = [os.path.join(directory, name) for folder in folders
             for directory, subfolders, names in os.walk(os.path.join(root, folder)) for name in names + subfolders]
    for path in paths + list(files):
        if os.path.islink(path):
            digests[os.path.relpath(path, root)] = "link -> " + os.readlink(path)
        elif os.path.isfile(path):
            with open(path, "rb") as handle:
                digests[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return digests


def gradebook_sources(coursedir):
    """The gradebook's master copy of the assignment: every source cell's name, type and source."""
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        notebook = gradebook.find_notebook(ASSIGNMENT, ASSIGNMENT)
        return {cell.name: (cell.cell_type, cell.source, cell.checksum) for cell in notebook.source_cells}


@contextlib.contextmanager
def trap_server():
    """A web server on a free loopback port that hostile submissions try to reach from their sandbox.

    yields: (port, list of the paths requested so far)
    """
    requests = []

    class Trap(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 -- the http.server API
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trap)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    """The sample class, the corpus and the adversarial cases, graded together in one fresh course by
    grader.parallel on two workers and two coordinators (one shard each), with their feedback and
    grades.csv. (test_parallel.py grades a representative subset both ways, plain `nbgrader
    autograde` and grader.parallel, and finds the same, cell by cell.)

    returns: dict with "root", "submissions" (name -> Submission), "scores" (name -> exercise ->
             (score, max_score)) and "penalties" (name -> late penalty) read from the gradebook,
             "before" and "after" (snapshots of source/, release/, submitted/ and the configuration),
             "sources_before"/"sources_after" (the gradebook's master cells), "trap_requests" (what
             reached the loopback trap), "canary" (the host file adversarial code tries to
             overwrite, after grading) and "summary" (grader.parallel's)
    """
    root = make_course(str(tmp_path_factory.mktemp("course")))
    canary = str(tmp_path_factory.mktemp("host") / "canary.txt")
    with open(canary, "w") as handle:
        handle.write("untouched")
    cases = all_cases()
    config = os.path.join(REPO_ROOT, "nbgrader_config.py")
    with trap_server() as (port, trap_requests):
        write_cases(root, cases, {"TRAP_PORT": str(port), "CANARY_PATH": canary, "SLOW_SECONDS": "4"})
        before = snapshot(root, files=[config])
        sources_before = gradebook_sources(course_directory(root))
        _, summary = run_parallel(root, "--workers=2", "--coordinators=2", "--feedback")
    after = snapshot(root, files=[config])
    with open(canary) as handle:
        canary_text = handle.read()
    run_nbgrader(root, "export", f"--to={os.path.join(root, 'grades.csv')}")
    scores, penalties = scores_of(root)
    return {
        "root": root, "submissions": {case.name: case for case in cases}, "scores": scores, "penalties": penalties,
        "before": before, "after": after, "sources_before": sources_before,
        "sources_after": gradebook_sources(course_directory(root)),
        "trap_requests": trap_requests, "canary": canary_text, "summary": summary,
    }


def all_cases():
    """Every submission of the batch: the sample class, the corpus and the adversarial cases."""
    cases = []
    for directory in (submissions.SAMPLE_CLASS_DIR, submissions.CORPUS_DIR, submissions.ADVERSARIAL_DIR):
        cases += submissions.read_directory(directory)
    return cases


def _postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found and shutil.which("runuser") else None


@pytest.fixture(scope="session")
def postgres_url():
    """A private PostgreSQL server, as the postgres user, on a free loopback port, with an empty
    database. yields: its URL, or None when PostgreSQL is not installed (then the tests that need it
    skip, or fail under GRADER_REQUIRE_POSTGRES=1)"""
    bindir = _postgres_bin()
    if bindir is None:
        message = "PostgreSQL is not installed (apt-get install postgresql)"
        if os.environ.get("GRADER_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"the PostgreSQL tests must run here, but {message}")
        yield None
        return
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


@pytest.fixture(scope="session")
def serial_subset(tmp_path_factory, postgres_url):
    """The representative subset graded by plain `nbgrader autograde`, one submission after the other,
    as the reference the other graders and gradebooks are compared with: the batch (graded_course,
    by grader.parallel on SQLite) holds the same subset. Its kernels are forked from a warm template,
    as grader.parallel's are. (Kernels that are each a fresh interpreter grade the same scores:
    test_non_root grades the sample class so, through user namespaces, and test_validate's kernels are
    fresh too; test_sandbox shows both kinds of kernel the same sandbox.) Its gradebook is on PostgreSQL
    when PostgreSQL is installed (the course is generated there too, and its gradebook.db removed
    first, so that nothing can fall back to SQLite), so they show that PostgreSQL holds what SQLite
    holds as well.

    returns: dict with "root", "cases" (list of Submission), "students" (their names), "db_url" (its
             gradebook) and "on_postgres"
    """
    names = sorted(case.name for case in submissions.read_directory(submissions.SAMPLE_CLASS_DIR)) + list(SUBSET)
    by_name = {case.name: case for case in all_cases()}
    cases = [by_name[name] for name in names]
    root = make_course(str(tmp_path_factory.mktemp("serial") / "course"))
    env = {"GRADEBOOK_URL": postgres_url} if postgres_url else {}
    if postgres_url:
        os.remove(os.path.join(root, "gradebook.db"))
        run_nbgrader(root, "generate_assignment", ASSIGNMENT, "--force", env=env)
    write_cases(root, cases)
    run_nbgrader(root, "autograde", ASSIGNMENT, "--force", *BATCH_LIMITS, env=env)
    return {"root": root, "cases": cases, "students": names, "on_postgres": bool(postgres_url),
            "db_url": postgres_url or course_directory(root).db_url}


def report_of(root, student):
    import json
    from grader.course import REPORT_NAME, assignment_folder
    with open(os.path.join(assignment_folder(root, "autograded", student), REPORT_NAME), encoding="utf-8") as handle:
        return json.load(handle)


def notebook_text(root, step, student):
    with open(notebook_path(root, step, student), encoding="utf-8") as handle:
        return handle.read()
