"""The parallel grader's coordinator alone: how fast it commits, and whether its memory stays flat.

    .venv/bin/python bench/coordinator_alone.py [--size 2000] [--from 100] [--out bench/results]

It builds a class of --size submissions cycling through the eight sample students (each under a
name of its own), then runs grader.coordinator.Coordinator, the real one, on a Dask scheduler and one worker started
as processes of their own on loopback (as on a cluster, so that this process holds only the
coordinator and the Dask client), with a task that returns a precomputed result: each distinct notebook is graded for real
(worker.grade_on_worker, sandboxed) the first time the worker meets it and replayed from the
worker's memory after that. So what is timed is the coordinator's own work: intake, sanitize,
dispatch and nbgrader's commit of every submission, and its resident memory (VmRSS of this
process) is sampled after each commit.

It prints and writes to --out/coordinator_alone.json: commits per second between submission
--from and the last, the median seconds per commit, and the RSS at --from and at the end.
"""

import argparse
import dataclasses
import itertools
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
BIN = os.path.dirname(sys.executable)
ASSIGNMENT = "gradient_checking"


def rss_mib():
    """This process's resident memory now, from /proc. returns: MiB"""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def build_class(size):
    """A course root with source/, release/ and `size` submissions of the sample class. returns: path"""
    from tools import submissions
    root = tempfile.mkdtemp(prefix=f"gc-bench-coordinator-{size}-")
    shutil.copytree(os.path.join(REPO_ROOT, "source"), os.path.join(root, "source"),
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    subprocess.run([os.path.join(BIN, "nbgrader"), "generate_assignment", ASSIGNMENT, "--force",
                    f"--CourseDirectory.root={root}"], cwd=REPO_ROOT, check=True, capture_output=True,
                   env={**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]})
    sample = submissions.read_directory(submissions.SAMPLE_CLASS_DIR)
    for index, case in zip(range(size), itertools.cycle(sample)):
        submissions.write_submission(dataclasses.replace(case, name=f"s{index:05d}-{case.name}"), root,
                                     release_root=root)
    return root


@contextlib.contextmanager
def scheduler_and_worker(folder):
    """`dask scheduler` and one single-threaded `dask worker` on loopback. yields: the scheduler's address"""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"], "PYTHONPATH": REPO_ROOT}
    log = open(os.path.join(folder, "cluster.log"), "w")
    processes = [subprocess.Popen([os.path.join(BIN, "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                   "--no-dashboard"], env=env, stdout=log, stderr=log)]
    processes.append(subprocess.Popen([os.path.join(BIN, "dask"), "worker", address, "--nthreads", "1",
                                       "--no-dashboard", "--host", "127.0.0.1", "--local-directory", folder],
                                      env=env, stdout=log, stderr=log))
    try:
        yield address
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        log.close()


def graded_once(notebook_json, notebook_id, bundle):
    """The worker's task: the real grading the first time a notebook is met, its result after that."""
    import hashlib

    from distributed import get_worker

    from grader import worker

    cache = get_worker().__dict__.setdefault("precomputed_results", {})
    key = hashlib.sha256(notebook_json.encode("utf-8")).hexdigest()
    if key not in cache:
        cache[key] = worker.grade_on_worker(notebook_json, notebook_id, bundle)
    return cache[key]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--from", dest="start", type=int, default=100, help="measure from this commit on")
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "bench", "results"))
    args = parser.parse_args()

    from distributed import Client

    from grader import coordinator, parallel

    root = build_class(args.size)
    print(f"built {args.size} submissions in {root}", file=sys.stderr)
    app = parallel.make_app(ASSIGNMENT, [f"--CourseDirectory.root={root}"])
    app.log.setLevel("ERROR")  # as grader.parallel does
    samples = {}  # commit number -> (monotonic time, RSS MiB)

    class Measured(coordinator.Coordinator):
        task = staticmethod(graded_once)

        def _finish(self, student, error):
            super()._finish(student, error)
            samples[len(self.committed_at)] = (time.monotonic(), rss_mib())

    with scheduler_and_worker(root) as address, Client(address, timeout=60) as client:
        client.wait_for_workers(1, timeout=60)
        measured = Measured(app, client, force=True, progress=coordinator.Progress(0, every=30))
        measured.run(measured.submissions())
    if measured.failed:
        raise SystemExit(f"{len(measured.failed)} submissions failed, first: {next(iter(measured.failed.items()))}")
    end = max(samples)
    (start_time, start_rss), (end_time, end_rss) = samples[args.start], samples[end]
    gaps = sorted(b - a for a, b in zip(measured.committed_at[args.start:], measured.committed_at[args.start + 1:]))
    result = {
        "submissions": args.size, "measured_from": args.start,
        "commits_per_second": round((end - args.start) / (end_time - start_time), 2),
        "median_seconds_per_commit": round(gaps[len(gaps) // 2], 4),
        "busy_seconds": {step: round(value, 1) for step, value in measured.busy.items()},
        "rss_mib_at_start": round(start_rss, 1), "rss_mib_at_end": round(end_rss, 1),
        "rss_growth_mib": round(end_rss - start_rss, 1),
        "rss_mib_every_100": {n: round(rss, 1) for n, (_, rss) in sorted(samples.items()) if n % 100 == 0},
    }
    print(json.dumps(result, indent=1))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "coordinator_alone.json"), "w") as handle:
        json.dump(result, handle, indent=1)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
