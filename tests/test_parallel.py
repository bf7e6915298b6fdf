"""The parallel grader (grader/parallel.py): the same results as plain `nbgrader autograde`, cell by
cell, on a representative subset (the sample class, kernels that crash, and the intake cases), on a
LocalCluster (the shared batch, which holds the subset) and on a real Dask cluster that loses a
worker mid-run; re-runs skip unchanged submissions, and regrade all when the late policy changes."""

import glob
import io
import json
import os
import signal
import subprocess
import time

import argparse
import sys

import nbformat
import psutil
import pytest
from hypothesis import given, strategies

from conftest import (BIN, REPO_ROOT, finished_summary, free_port, gradebook_rows, make_course,
                      run_parallel, write_cases)
from grader.course import ASSIGNMENT, course_directory
from grader.coordinator import Progress, in_shard
from grader.parallel import Shard, merged, parse_args, parse_shard
from grader.sandbox import SANDBOX_UIDS
from tools import submissions

BATCH = pytest.mark.xdist_group("batch")  # the tests compared with the serial reference run, beside the batch

VARYING_REPORT_KEYS = ("seconds", "timings", "fingerprint", "grader_peak_mib")


def course_with(tmp_path, cases):
    root = make_course(str(tmp_path / "course"))
    write_cases(root, cases)
    return root


def reports(root, students):
    """Each student's grading report without the keys that vary from run to run (and with the
    course's own path, which notes about links name, as <course>)."""
    found = {}
    for student in students:
        with open(os.path.join(root, "autograded", student, ASSIGNMENT, "grading_report.json")) as handle:
            report = json.loads(handle.read().replace(root, "<course>"))
        found[student] = {key: value for key, value in report.items() if key not in VARYING_REPORT_KEYS}
    return found


def graded_cells(root, student):
    """Sources of all cells, outputs of the graded cells and every figure, in the autograded notebook.

    (How a student's printed text interleaves stdout with stderr depends on when each was flushed,
    in any Jupyter kernel, so the text of the other cells is not compared.)
    """
    nb = nbformat.read(os.path.join(root, "autograded", student, ASSIGNMENT, f"{ASSIGNMENT}.ipynb"), as_version=4)
    return [(cell.source, cell.outputs if cell.metadata.get("nbgrader", {}).get("grade") else
             [output.data for output in cell.get("outputs", []) if output.output_type == "display_data"])
            for cell in nb.cells]


def assert_same_as_serial(serial, parallel_root, students):
    """serial -- the serial_subset fixture; parallel_root -- a course that graded these students too"""
    serial_rows = gradebook_rows(serial["db_url"], students)
    assert len(serial_rows) >= 9 * len(students)
    assert gradebook_rows(course_directory(parallel_root).db_url, students) == serial_rows
    assert reports(parallel_root, students) == reports(serial["root"], students)
    for student in students:
        assert graded_cells(parallel_root, student) == graded_cells(serial["root"], student), student
        listing = [sorted(os.listdir(os.path.join(root, "autograded", student, ASSIGNMENT)))
                   for root in (serial["root"], parallel_root)]
        assert listing[0] == listing[1], student


@BATCH
def test_parallel_grades_equal_serial_grades_cell_by_cell(serial_subset, graded_course):
    students = serial_subset["students"]
    assert set(students) <= set(graded_course["submissions"])
    assert_same_as_serial(serial_subset, graded_course["root"], students)


@BATCH
def test_the_batch_was_graded_by_two_coordinators_one_shard_each(graded_course):
    summary, names = graded_course["summary"], list(graded_course["submissions"])
    assert summary["coordinators"] == 2
    assert summary["graded"] == summary["submissions"] == len(names) and not summary["failed"]
    assert {in_shard(name, (1, 2)) for name in names} == {True, False}  # both had students


@given(strategies.lists(strategies.text(min_size=1), unique=True), strategies.integers(1, 7))
def test_every_student_is_in_exactly_one_shard(students, count):
    for student in students:
        assert sum(in_shard(student, (index, count)) for index in range(count)) == 1


@pytest.mark.parametrize("text", ["2/2", "-1/2", "1", "a/b", "0/0", "1/2/3"])
def test_a_shard_that_does_not_exist_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_shard(text)
    assert parse_shard("1/3") == (1, 3)


def test_a_coordinator_process_that_ends_without_a_summary_fails_its_shard_only(capsys):
    args, nbgrader_args = parse_args([ASSIGNMENT, "--coordinators=3", "--scheduler=tcp://127.0.0.1:1"])
    shard = Shard(args, nbgrader_args, "tcp://127.0.0.1:1", 2, ["s1", "s2"])
    shard.command = [sys.executable, "-c", "import sys; print('working', file=sys.stderr); sys.exit(3)"]
    shard.start()
    lost = shard.wait()
    assert "[shard 2/3] working" in capsys.readouterr().err
    mine = {"submissions": 1, "graded": 1, "unchanged": 0, "executions": 1, "failed": {}, "committed_at": [1.0],
            "coordinator_peak_mib": 100.0, "coordinator_cpu_seconds": 2.0, "coordinator_busy_seconds": {"commit": 1.0}}
    summary = merged([mine, lost], 5.0, None)
    assert summary["submissions"] == 3 and summary["graded"] == 1 and summary["coordinators"] == 2
    assert set(summary["failed"]) == {"s1", "s2"} and "ended with status 3" in summary["failed"]["s1"]


@pytest.mark.slow  # it grades
def test_a_rerun_grades_only_what_changed_and_all_when_the_late_policy_changes(tmp_path):
    cases = [case for case in submissions.read_directory(submissions.SAMPLE_CLASS_DIR) if case.name in ("bilal", "hana")]
    root = course_with(tmp_path, cases)
    _, summary = run_parallel(root, "--workers=1")
    assert summary["graded"] == 2 and summary["executions"] == 2
    changed = submissions.parse_submission(os.path.join(submissions.SAMPLE_CLASS_DIR, "alice.py"))
    changed.name, changed.base = "bilal", "solution"  # bilal hands in alice's full-marks work
    submissions.write_submission(changed, root, release_root=root)
    _, summary = run_parallel(root, "--workers=1")
    assert summary["graded"] == 1 and summary["unchanged"] == 1 and summary["executions"] == 1
    assert reports(root, ["bilal"])["bilal"]["score"] == 50
    _, summary = run_parallel(root, "--workers=1", "--PerStartedDay.fraction_per_day=0.25")
    assert summary["graded"] == 2 and summary["unchanged"] == 0
    assert gradebook_rows(course_directory(root).db_url, ["hana"])[("hana", "late")] == 25.0  # 2 days x 25 % of 50


@pytest.fixture
def dask_cluster(tmp_path):
    """`dask scheduler` and two single-threaded `dask worker` processes (no nanny) on loopback, each
    started as the README says, with grader.worker preloaded (its template starts with it)."""
    port = free_port()
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
             "--host", "127.0.0.1", "--local-directory", str(directory), "--preload", "grader.worker"],
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
        for process in processes:  # a Dask process may take half a minute to stop politely: it is a test
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


@BATCH
def test_a_real_cluster_that_loses_a_worker_grades_everyone_once(serial_subset, dask_cluster, tmp_path):
    cases = [case for case in serial_subset["cases"] if case.name in ("alice", "chen", "dana", "emeka", "gita", "hana")]
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
    assert_same_as_serial(serial_subset, root, [case.name for case in cases])
    pages = glob.glob(os.path.join(root, "feedback", "*", ASSIGNMENT, f"{ASSIGNMENT}.html"))
    assert len(pages) == len(cases)
    for page in pages:
        with open(page, encoding="utf-8") as handle:
            assert "BEGIN HIDDEN TESTS" not in handle.read()
    _, alive = psutil.wait_procs(sandboxes, timeout=10)
    assert not alive, "the killed worker's sandboxes outlived it"


def test_dask_workers_import_no_nbgrader():
    """A LocalCluster's worker processes import grader.parallel again (multiprocessing imports the
    __main__ module) and grader.worker for their tasks: neither may import nbgrader (0.6 CPU-s a
    worker), which only the coordinator needs."""
    script = ("import sys, grader.parallel, grader.worker\n"
              "print(*sorted(name for name in sys.modules if name.split('.')[0] in ('nbgrader', 'grader')))")
    imported = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                              check=True).stdout.split()
    assert "grader.worker" in imported and not [name for name in imported if name.startswith("nbgrader")], imported
    assert "grader.coordinator" not in imported and "grader.commit" not in imported, imported


def test_the_commit_choices_are_the_coordinators_commit_paths():
    from grader.coordinator import COMMITS
    from grader.parallel import COMMIT_CHOICES
    assert sorted(COMMIT_CHOICES) == sorted(COMMITS)


def test_progress_shows_counts_rate_and_eta():
    stream = io.StringIO()
    progress = Progress(0, stream=stream, every=0)
    progress.start(4)
    progress.advance(skipped=True)
    progress.advance()
    progress.advance(failed=True)
    last = stream.getvalue().splitlines()[-1]
    assert "3/4" in last and "1 unchanged" in last and "1 failed" in last and "ETA" in last
