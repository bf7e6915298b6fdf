"""Autograde a whole class in parallel on a Dask cluster; one coordinator writes every result.

    python -m grader.parallel gradient_checking [--workers N | --scheduler tcp://host:8786] [--force]
                              [--feedback] [nbgrader options, e.g. --CourseDirectory.root=/srv/course]

Run it where ``nbgrader autograde`` would run (the course root, or with --CourseDirectory.root).
Without --scheduler it starts a LocalCluster with one single-threaded worker per core.

1. The coordinator (this process, grader/coordinator.py) lists submitted/<student>/<assignment>/
   and skips submissions graded before whose files, master files, hidden tests and limits are all
   unchanged (grader/fingerprint.py).
2. For each other submission it runs the intake hook and nbgrader's own sanitize step, then sends
   the sanitized notebook to a worker. The master files, the trusted test sources and the limits
   travel once per worker, as data: workers need this package installed, not the course folder.
3. A worker (grader/worker.py) runs ``execution.run_submission``, the same sandboxed execution and
   trusted judging as plain ``nbgrader autograde``, and returns the executed notebook and the
   judge's record.
4. The coordinator then commits the result (grader/commit.py): autograded/, the grading report
   and the gradebook rows, as nbgrader's own ``Autograde`` converter writes them, with the worker's
   execution in place of ``JudgedExecute``. By default it calls the converter's own steps for the
   folder and the gradebook and runs the autograde preprocessors on the notebook in memory;
   --commit=nbgrader runs the whole converter for each student instead (slower; the same files
   and rows, which tests/test_commit.py checks). With --feedback, nbgrader's GenerateFeedback then
   writes that student's feedback/ too.

A task lost with a worker is run again (by Dask, and once more by the coordinator if Dask gives
up); a submission is committed once. At most a few tasks per worker are in flight, so the
coordinator's memory does not grow with the class.
"""

import argparse
import json
import logging
import os
import resource
import sys
import time

from nbgrader.apps.autogradeapp import AutogradeApp

from .commit import JUDGED_EXECUTE
from .coordinator import COMMITS, Coordinator, Progress
from .worker import worker_cpu_seconds


def make_app(assignment: str, nbgrader_args: list[str]) -> AutogradeApp:
    """An initialised nbgrader autograde app: the course's configuration, as `nbgrader autograde` reads it."""
    app = AutogradeApp()
    app.initialize([assignment, *nbgrader_args])
    app.coursedir.assignment_id = assignment
    if JUDGED_EXECUTE not in app.config.Autograde.get("autograde_preprocessors", []):
        raise SystemExit(f"nbgrader_config.py must autograde with {JUDGED_EXECUTE}; the parallel grader replaces it")
    return app


def make_client(scheduler: str | None = None, workers: int | None = None):
    """A Dask client: to the scheduler at that address, or to a new LocalCluster on loopback."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout=30)
    dask.config.set({"distributed.scheduler.allowed-failures": 1})
    cluster = LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None, memory_limit=0)
    return Client(cluster)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (default: a LocalCluster)")
    parser.add_argument("--workers", type=int, help="LocalCluster workers (default: one per core)")
    parser.add_argument("--force", action="store_true", help="regrade submissions that are unchanged too")
    parser.add_argument("--feedback", action="store_true",
                        help="also write each graded student's feedback (as nbgrader generate_feedback)")
    parser.add_argument("--commit", choices=sorted(COMMITS), default="direct",
                        help="how results reach autograded/ and the gradebook: directly (default), or through "
                             "nbgrader's Autograde converter for each student (the same files and rows, slower)")
    args, nbgrader_args = parser.parse_known_args(argv)
    app = make_app(args.assignment, nbgrader_args)
    app.log.setLevel(logging.ERROR)  # per-submission notes go to the grading reports instead
    started = time.perf_counter()
    client = make_client(args.scheduler, args.workers)
    try:
        coordinator = Coordinator(app, client, force=args.force, feedback=args.feedback, progress=Progress(0),
                                  commit_with=args.commit)
        students = coordinator.submissions()
        workers = sum(client.nthreads().values())
        print(f"Grading {len(students)} submissions of {args.assignment} on {workers} Dask worker threads "
              f"({args.scheduler or 'LocalCluster'})", file=sys.stderr)
        coordinator.run(students)
        workers_cpu = sum(client.run(worker_cpu_seconds).values())
    finally:
        cluster = client.cluster
        client.close()
        if cluster is not None and not args.scheduler:
            cluster.close()
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    intervals = sorted(b - a for a, b in zip(coordinator.committed_at, coordinator.committed_at[1:]))
    peak_mib = usage.ru_maxrss / 1024
    summary = {"submissions": len(students), "graded": len(coordinator.graded),
               "unchanged": len(coordinator.skipped), "failed": coordinator.failed,
               "executions": coordinator.executions, "seconds": round(seconds, 2),
               "median_seconds_between_commits": round(intervals[len(intervals) // 2], 3) if intervals else None,
               "coordinator_peak_mib": round(peak_mib, 1),
               "coordinator_cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
               "workers_cpu_seconds": round(workers_cpu, 2),
               "coordinator_busy_seconds": {step: round(value, 2) for step, value in coordinator.busy.items()}}
    print(json.dumps(summary), file=sys.stderr)
    for student, error in coordinator.failed.items():
        print(f"NOT GRADED {student}: {error}", file=sys.stderr)
    return 1 if coordinator.failed else 0


if __name__ == "__main__":
    # Through the package, so that Dask sends grade_on_worker by reference, never pickled by value.
    from grader.parallel import main as package_main
    sys.exit(package_main())
