"""The parallel grader (grader/parallel.py): the same results as plain `nbgrader autograde`, cell by
cell, on a LocalCluster and on a real Dask cluster that loses a worker mid-run; re-runs skip
unchanged submissions."""

import glob
import io
import json
import os
import signal
import socket
import subprocess
import time

import nbformat
import psutil
import pytest

from conftest import BIN, REPO_ROOT, gradebook_rows, make_course
from tools import submissions
from grader.course import ASSIGNMENT
from grader.parallel import Progress
from grader.report import default_db_url
from grader.sandbox import SANDBOX_UIDS

SAME_LIMITS = "--JudgedExecute.cell_timeout=10"  # as graded_course uses
VARYING_REPORT_KEYS = ("seconds", "timings", "fingerprint")


def run_parallel(course_root, *args, wait=True):
    """Start `python -m grader.parallel` on a course. returns: the Popen (stderr as text), or, with
    wait, (Popen, summary dict) once it has finished"""
    command = [os.path.join(BIN, "python"), "-m", "grader.parallel", ASSIGNMENT, SAME_LIMITS,
               f"--CourseDirectory.root={course_root}", *args]
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    if not wait:
        return process
    return process, finished_summary(process)


def finished_summary(process):
    stdout, stderr = process.communicate(timeout=900)
    summary_lines = [line for line in stderr.splitlines() if line.startswith('{"submissions"')]
    assert process.returncode == 0 and summary_lines, f"parallel grading failed:\n{stdout}\n{stderr[-5000:]}"
    return json.loads(summary_lines[-1])


def course_with(tmp_path, cases):
    root = make_course(str(tmp_path / "course"))
    for case in cases:
        submissions.write_submission(case, root, release_root=root)
    return root


def reports(root, students):
    """Each student's grading report without the keys that vary from run to run."""
    found = {}
    for student in students:
        with open(os.path.join(root, "autograded", student, ASSIGNMENT, "grading_report.json")) as handle:
            report = json.load(handle)
        found[student] = {key: value for key, value in report.items() if key not in VARYING_REPORT_KEYS}
    return found


def graded_cells(root, student):
    """Sources of all cells and outputs of the graded cells in the autograded notebook."""
    nb = nbformat.read(os.path.join(root, "autograded", student, ASSIGNMENT, f"{ASSIGNMENT}.ipynb"), as_version=4)
    return [(cell.source, cell.outputs if cell.metadata.get("nbgrader", {}).get("grade") else None)
            for cell in nb.cells]


def assert_same_as_serial(serial_root, parallel_root, students):
    serial_rows = gradebook_rows(default_db_url(serial_root), students)
    assert len(serial_rows) >= 8 * len(students)
    assert gradebook_rows(default_db_url(parallel_root), students) == serial_rows
    assert reports(parallel_root, students) == reports(serial_root, students)
    for student in students:
        assert graded_cells(parallel_root, student) == graded_cells(serial_root, student), student
        listing = [sorted(os.listdir(os.path.join(root, "autograded", student, ASSIGNMENT)))
                   for root in (serial_root, parallel_root)]
        assert listing[0] == listing[1], student


@pytest.fixture(scope="module")
def parallel_course(graded_course, tmp_path_factory):
    """graded_course's submissions (sample class, corpus, adversarial) graded again, on a LocalCluster."""
    root = course_with(tmp_path_factory.mktemp("parallel"), graded_course["submissions"].values())
    _, summary = run_parallel(root, "--workers=2")
    return {"root": root, "summary": summary}


def test_parallel_grades_equal_serial_grades_cell_by_cell(graded_course, parallel_course):
    students = sorted(graded_course["submissions"])
    assert parallel_course["summary"]["graded"] == len(students) and not parallel_course["summary"]["failed"]
    assert_same_as_serial(graded_course["root"], parallel_course["root"], students)


def test_a_rerun_grades_only_what_changed(graded_course, parallel_course):
    root = parallel_course["root"]
    changed = submissions.parse_submission(os.path.join(submissions.SAMPLE_CLASS_DIR, "alice.py"))
    changed.name, changed.base = "bilal", "solution"  # bilal hands in alice's full-marks work
    submissions.write_submission(changed, root, release_root=root)
    _, summary = run_parallel(root, "--workers=1")
    assert summary["graded"] == 1 and summary["unchanged"] == len(graded_course["submissions"]) - 1
    assert summary["executions"] == 1
    assert reports(root, ["bilal"])["bilal"]["score"] == 50


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path):
    """`dask scheduler` and two single-threaded `dask worker` processes (no nanny) on loopback."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    log = open(tmp_path / "cluster.log", "w")
    processes = [subprocess.Popen([os.path.join(BIN, "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], env=env, stdout=log, stderr=log, start_new_session=True)]
    for index in range(2):
        directory = tmp_path / f"worker{index}"
        directory.mkdir()
        processes.append(subprocess.Popen(
            [os.path.join(BIN, "dask"), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
             "--host", "127.0.0.1", "--local-directory", str(directory)],
            env={**env, "TMPDIR": str(directory)}, cwd=directory, stdout=log, stderr=log, start_new_session=True))
    from distributed import Client
    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
    try:
        yield {"address": address, "workers": processes[1:], "log": tmp_path / "cluster.log"}
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_a_real_cluster_that_loses_a_worker_grades_everyone_once(graded_course, dask_cluster, tmp_path):
    cases = [graded_course["submissions"][name] for name in sorted(graded_course["submissions"])
             if not name.startswith("adv_")][:12]
    root = course_with(tmp_path, cases)
    process = run_parallel(root, f"--scheduler={dask_cluster['address']}", "--feedback", wait=False)
    deadline = time.monotonic() + 300
    while not glob.glob(os.path.join(root, "autograded", "*", ASSIGNMENT, "grading_report.json")):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)
    victim = dask_cluster["workers"][0]
    sandboxes = psutil.Process(victim.pid).children(recursive=True)
    assert any(p.uids().real in SANDBOX_UIDS for p in sandboxes), "the worker had no kernel running"
    os.killpg(victim.pid, signal.SIGKILL)  # mid-run: it holds a running task and a started kernel
    graded_before_the_kill = len(glob.glob(os.path.join(root, "autograded", "*", ASSIGNMENT, "grading_report.json")))
    summary = finished_summary(process)
    assert victim.wait(timeout=10) == -signal.SIGKILL
    assert graded_before_the_kill < len(cases)
    assert summary["graded"] == len(cases) and not summary["failed"]
    assert_same_as_serial(graded_course["root"], root, [case.name for case in cases])
    pages = glob.glob(os.path.join(root, "feedback", "*", ASSIGNMENT, f"{ASSIGNMENT}.html"))
    assert len(pages) == len(cases)
    for page in pages:
        with open(page, encoding="utf-8") as handle:
            assert "BEGIN HIDDEN TESTS" not in handle.read()
    _, alive = psutil.wait_procs(sandboxes, timeout=10)
    assert not alive, "the killed worker's sandboxes outlived it"


def test_progress_shows_counts_rate_and_eta():
    stream = io.StringIO()
    progress = Progress(0, stream=stream, every=0)
    progress.start(4)
    progress.advance(skipped=True)
    progress.advance()
    progress.advance(failed=True)
    last = stream.getvalue().splitlines()[-1]
    assert "3/4" in last and "1 unchanged" in last and "1 failed" in last and "ETA" in last
