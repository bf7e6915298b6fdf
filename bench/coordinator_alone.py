"""The parallel grader's coordinator alone: how fast it commits, and whether its memory stays flat.

    .venv/bin/python bench/coordinator_alone.py [--size 2000] [--from 100] [--coordinators K] [--out bench/results]

It builds a class of --size submissions cycling through the eight sample students (each under a
name of its own), then runs --coordinators processes of grader.coordinator.Coordinator, the real one, each with
its shard of the class (as grader.parallel --coordinators does), on a Dask scheduler and one worker started
as processes of their own on loopback (as on a cluster, so that a coordinator's process holds only the
coordinator and the Dask client), with a task that returns a precomputed result: each distinct notebook is graded for real
(worker.grade_on_worker, sandboxed) the first time the worker meets it and replayed from the
worker's memory after that. So what is timed is the coordinator's own work: intake, sanitize,
dispatch and nbgrader's commit of every submission, and each coordinator's resident memory
(VmRSS of its process) is sampled after each of its commits.

It prints and writes to --out/coordinator_alone.json: the class's commits per second between its
--from-th commit and its last, the median seconds between two commits, the CPU seconds per
commit of the coordinator processes (their start included) and of the scheduler and worker, and
each coordinator's RSS at its share of --from and at its end (the growth reported is the largest).
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


def cpu_seconds(pid):
    """CPU seconds a process has used so far (user and system, from /proc)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid):
    """CPU seconds a process and its living descendants (a dask worker's nanny and its worker) have used."""
    import psutil

    process = psutil.Process(pid)
    return sum(sum(each.cpu_times()[:2]) for each in [process, *process.children(recursive=True)])


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
    """`dask scheduler` and one single-threaded `dask worker` on loopback.
    yields: (the scheduler's address, a function that returns the CPU seconds both have used so far)"""
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
        yield address, lambda: sum(tree_cpu_seconds(process.pid) for process in processes)
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


def measure_shard(root, scheduler, shard, samples_path):
    """One coordinator on its shard of the class; writes its samples (commit number, monotonic
    time, RSS MiB) and what it spent to samples_path as JSON."""
    from distributed import Client

    from grader import coordinator, parallel

    app = parallel.make_app(ASSIGNMENT, [f"--CourseDirectory.root={root}"])
    app.log.setLevel("ERROR")  # as grader.parallel does
    samples = []

    class Measured(coordinator.Coordinator):
        task = staticmethod(graded_once)

        def _finish(self, student, error):
            super()._finish(student, error)
            samples.append((len(self.committed_at), time.monotonic(), rss_mib()))

    with Client(scheduler, timeout=60) as client:
        measured = Measured(app, client, force=True, progress=coordinator.Progress(0, every=30), shard=shard)
        measured.run(measured.submissions())
    with open(samples_path, "w") as handle:
        json.dump({"samples": samples, "failed": measured.failed, "busy": measured.busy,
                   "cpu": cpu_seconds(os.getpid())}, handle)


def run_coordinators(root, address, count, folder):
    """count coordinator processes, one shard each, side by side. returns: their sample files' contents"""
    processes, paths = [], []
    for index in range(count):
        paths.append(os.path.join(folder, f"samples-{index}.json"))
        processes.append(subprocess.Popen([sys.executable, os.path.abspath(__file__), "--measure-shard",
                                           f"{index}/{count}", "--root", root, "--scheduler", address,
                                           "--samples", paths[-1]]))
    for process in processes:
        if process.wait() != 0:
            raise SystemExit(f"a coordinator process ended with status {process.returncode}")
    shards = []
    for path in paths:
        with open(path) as handle:
            shards.append(json.load(handle))
    return shards


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--from", dest="start", type=int, default=100, help="measure from this commit on")
    parser.add_argument("--coordinators", type=int, default=1, help="coordinator processes, one shard each")
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "bench", "results"))
    parser.add_argument("--measure-shard", help=argparse.SUPPRESS)  # I/K: be one of the coordinators
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--scheduler", help=argparse.SUPPRESS)
    parser.add_argument("--samples", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_shard:
        from grader.parallel import parse_shard
        measure_shard(args.root, args.scheduler, parse_shard(args.measure_shard), args.samples)
        return

    root = build_class(args.size)
    print(f"built {args.size} submissions in {root}", file=sys.stderr)
    with scheduler_and_worker(root) as (address, cluster_cpu):
        wait_for_worker(address)
        cpu_before = cluster_cpu()
        shards = run_coordinators(root, address, args.coordinators, root)
        cluster_cpu_per_commit = (cluster_cpu() - cpu_before) / args.size
    failed = {student: error for shard in shards for student, error in shard["failed"].items()}
    if failed:
        raise SystemExit(f"{len(failed)} submissions failed, first: {next(iter(failed.items()))}")
    moments = sorted(moment for shard in shards for _, moment, _ in shard["samples"])
    measured = moments[args.start - 1:]
    gaps = sorted(b - a for a, b in zip(measured, measured[1:]))
    growth = []  # each coordinator: (RSS at its share of --from, RSS at its end)
    for shard in shards:
        start = max(1, round(args.start * len(shard["samples"]) / args.size))
        growth.append((shard["samples"][start - 1][2], shard["samples"][-1][2]))
    busy = {}
    for shard in shards:
        for step, value in shard["busy"].items():
            busy[step] = busy.get(step, 0.0) + value
    first = shards[0]["samples"]
    result = {
        "submissions": args.size, "coordinators": args.coordinators, "measured_from": args.start,
        "commits_per_second": round((len(measured) - 1) / (measured[-1] - measured[0]), 2),
        "median_seconds_between_commits": round(gaps[len(gaps) // 2], 4),
        "busy_seconds": {step: round(value, 1) for step, value in busy.items()},
        "coordinator_cpu_seconds_per_commit": round(sum(shard["cpu"] for shard in shards) / args.size, 4),
        "scheduler_and_worker_cpu_seconds_per_commit": round(cluster_cpu_per_commit, 4),
        "rss_mib_at_start": [round(start, 1) for start, _ in growth],
        "rss_mib_at_end": [round(end, 1) for _, end in growth],
        "rss_growth_mib": round(max(end - start for start, end in growth), 1),
        "rss_mib_every_100_of_the_first": {n: round(rss, 1) for n, _, rss in first if n % 100 == 0},
    }
    print(json.dumps(result, indent=1))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "coordinator_alone.json"), "w") as handle:
        json.dump(result, handle, indent=1)
    shutil.rmtree(root, ignore_errors=True)


def wait_for_worker(address):
    from distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(1, timeout=60)


if __name__ == "__main__":
    main()
