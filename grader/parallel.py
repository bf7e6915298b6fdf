"""Autograde a whole class in parallel on a Dask cluster; one coordinator writes every result.

    python -m grader.parallel gradient_checking [--workers N | --scheduler tcp://host:8786] [--force]
                              [--feedback] [--coordinators K]
                              [nbgrader options, e.g. --CourseDirectory.root=/srv/course]

Run it where ``nbgrader autograde`` would run (the course root, or with --CourseDirectory.root).
Without --scheduler it starts a LocalCluster with one single-threaded worker per core, while it
imports nbgrader; each worker preloads grader.worker, whose dask_setup starts the worker's warm
kernel template at once (start workers of a cluster with ``--preload grader.worker`` too).

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

With --coordinators K, K coordinator processes share the cluster and the gradebook, each with
one shard of the class (coordinator.in_shard): this process and K - 1 others it starts with
--shard. One coordinator commits about 19 submissions a second, so a cluster that grades
faster than that needs several; give them a PostgreSQL gradebook (GRADEBOOK_URL), which is made
for many writers (SQLite works, one writer at a time).

A task lost with a worker is run again (by Dask, and once more by the coordinator if Dask gives
up); a submission is committed once. At most a few tasks per worker are in flight, so the
coordinator's memory does not grow with the class.
"""

import argparse
import concurrent.futures
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import threading
import time

# Only the standard library at the top: each Dask worker process that a LocalCluster spawns imports
# this module again (multiprocessing imports the __main__ module), and needs neither nbgrader nor
# the coordinator. Importing them there cost each worker 0.6 CPU-s before it could start.
COMMIT_CHOICES = ("direct", "nbgrader")  # coordinator.COMMITS, by name


def make_app(assignment: str, nbgrader_args: list[str]):
    """An initialised nbgrader AutogradeApp: the course's configuration, as `nbgrader autograde` reads it."""
    from nbgrader.apps.autogradeapp import AutogradeApp

    from .commit import JUDGED_EXECUTE

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
                           host="127.0.0.1", dashboard_address=None, memory_limit=0,
                           preload=["grader.worker"])  # worker.dask_setup: each worker's template starts at once
    return Client(cluster)


def close_client(client, scheduler=None):
    """Close a client of make_client, and its LocalCluster if it made one."""
    cluster = client.cluster
    client.close()
    if cluster is not None and not scheduler:
        cluster.close()


def parse_shard(text: str) -> tuple[int, int]:
    """"I/K" -> (I, K), for --shard. raises argparse.ArgumentTypeError unless 0 <= I < K"""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not I/K, such as 0/2") from None
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"shard {text}: I must be at least 0 and less than K")
    return index, count


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (default: a LocalCluster)")
    parser.add_argument("--workers", type=int, help="LocalCluster workers (default: one per core)")
    parser.add_argument("--force", action="store_true", help="regrade submissions that are unchanged too")
    parser.add_argument("--feedback", action="store_true",
                        help="also write each graded student's feedback (as nbgrader generate_feedback)")
    parser.add_argument("--commit", choices=COMMIT_CHOICES, default="direct",
                        help="how results reach autograded/ and the gradebook: directly (default), or through "
                             "nbgrader's Autograde converter for each student (the same files and rows, slower)")
    parser.add_argument("--coordinators", type=int, default=1,
                        help="coordinator processes, each with a shard of the class (default 1)")
    parser.add_argument("--shard", type=parse_shard, default=(0, 1), metavar="I/K",
                        help="grade only shard I of K (what --coordinators gives each process it starts)")
    args, nbgrader_args = parser.parse_known_args(argv)
    if args.coordinators < 1:
        parser.error("--coordinators must be at least 1")
    if args.coordinators > 1 and args.shard != (0, 1):
        parser.error("--coordinators and --shard exclude each other")
    return args, nbgrader_args


def main(argv: list[str] | None = None) -> int:
    args, nbgrader_args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    import distributed  # noqa: F401 -- here, so that the thread below imports nothing the main thread does

    with concurrent.futures.ThreadPoolExecutor(1) as starter:
        # The Dask workers start while this process imports nbgrader and reads the course.
        starting = starter.submit(make_client, args.scheduler, args.workers)
        try:
            from .coordinator import Coordinator, Progress, in_shard
            from .worker import worker_cpu_seconds

            app = make_app(args.assignment, nbgrader_args)
        except BaseException:
            close_client(starting.result(), args.scheduler)
            raise
        client = starting.result()
    app.log.setLevel(logging.ERROR)  # per-submission notes go to the grading reports instead
    sharded = args.shard != (0, 1)  # one of the processes that --coordinators starts
    others = []
    try:
        shard = (0, args.coordinators) if args.coordinators > 1 else args.shard
        coordinator = Coordinator(app, client, force=args.force, feedback=args.feedback, progress=Progress(0),
                                  commit_with=args.commit, shard=shard)
        everyone = coordinator.submissions(shard=(0, 1))
        students = [student for student in everyone if in_shard(student, shard)]
        others = [Shard(args, nbgrader_args, client.scheduler.address, index,
                        [student for student in everyone if in_shard(student, (index, args.coordinators))])
                  for index in range(1, args.coordinators)]
        which = f"{len(students)} of {len(everyone)} (shard {shard[0]}/{shard[1]})" if shard[1] > 1 else str(len(students))
        print(f"Grading {which} submissions of {args.assignment} on {sum(client.nthreads().values())} Dask worker "
              f"threads ({args.scheduler or 'LocalCluster'})", file=sys.stderr)
        for other in others:
            other.start()
        coordinator.run(students)
        summaries = [other.wait() for other in others]
        workers_cpu = None if sharded else sum(client.run(worker_cpu_seconds).values())  # (its starter counts them)
    finally:
        for other in others:
            other.stop()  # (ended already, unless this one failed)
        close_client(client, args.scheduler)
    summary = merged([shard_summary(coordinator, students), *summaries], time.perf_counter() - started, workers_cpu)
    if sharded:  # the coordinator that started this one reads the summary
        summary["committed_at"] = [round(moment, 4) for moment in coordinator.committed_at]
    print(json.dumps(summary), file=sys.stderr)
    if not sharded:  # (that one lists what its shards could not grade)
        for student, error in summary["failed"].items():
            print(f"NOT GRADED {student}: {error}", file=sys.stderr)
    return 1 if summary["failed"] else 0


def shard_summary(coordinator, students):
    """What one coordinator did, in the keys of the summary, with its commit times."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"submissions": len(students), "graded": len(coordinator.graded),
            "unchanged": len(coordinator.skipped), "failed": coordinator.failed,
            "executions": coordinator.executions, "committed_at": coordinator.committed_at,
            "coordinator_peak_mib": usage.ru_maxrss / 1024,
            "coordinator_cpu_seconds": usage.ru_utime + usage.ru_stime,
            "coordinator_busy_seconds": coordinator.busy}


def merged(summaries, seconds, workers_cpu):
    """The JSON summary of a run: the shards' summaries added up (one without --coordinators)."""
    moments = sorted(moment for summary in summaries for moment in summary["committed_at"])
    intervals = sorted(b - a for a, b in zip(moments, moments[1:]))
    busy = {}
    for summary in summaries:
        for step, value in summary["coordinator_busy_seconds"].items():
            busy[step] = busy.get(step, 0.0) + value
    total = {key: sum(summary[key] for summary in summaries)
             for key in ("submissions", "graded", "unchanged", "executions")}
    return {**total, "failed": {student: error for summary in summaries for student, error in summary["failed"].items()},
            "seconds": round(seconds, 2),
            "median_seconds_between_commits": round(statistics.median(intervals), 3) if intervals else None,
            "coordinators": len(summaries),
            "coordinator_peak_mib": round(max(summary["coordinator_peak_mib"] for summary in summaries), 1),
            "coordinator_cpu_seconds": round(sum(summary["coordinator_cpu_seconds"] for summary in summaries), 2),
            "workers_cpu_seconds": None if workers_cpu is None else round(workers_cpu, 2),
            "coordinator_busy_seconds": {step: round(value, 2) for step, value in busy.items()}}


class Shard:
    """Another coordinator process (``python -m grader.parallel --shard index/count``) on this cluster.

    Its progress lines reach this stderr prefixed with its shard; its summary is read from its last line.
    """

    def __init__(self, args, nbgrader_args, scheduler, index, students):
        self.index, self.count, self.students = index, args.coordinators, students
        self.command = [sys.executable, "-m", "grader.parallel", args.assignment, f"--scheduler={scheduler}",
                        f"--shard={index}/{self.count}", f"--commit={args.commit}",
                        *(["--force"] if args.force else []), *(["--feedback"] if args.feedback else []),
                        *nbgrader_args]
        self.process, self.lines = None, []

    def start(self):
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.reader = threading.Thread(target=self._forward, daemon=True)
        self.reader.start()

    def _forward(self):
        for line in self.process.stderr:
            self.lines.append(line)
            if not line.startswith('{"submissions"'):
                sys.stderr.write(f"[shard {self.index}/{self.count}] {line}")

    def stop(self):
        """End it if it still runs (when this coordinator failed)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait()

    def wait(self):
        """Its summary, once it has ended; one that ended without one fails its whole shard."""
        self.process.wait()
        self.reader.join()
        found = [line for line in self.lines if line.startswith('{"submissions"')]
        if found:
            return json.loads(found[-1])
        reason = f"its coordinator process (shard {self.index}/{self.count}) ended with status {self.process.returncode}"
        return {"submissions": len(self.students), "graded": 0, "unchanged": 0, "executions": 0,
                "failed": dict.fromkeys(self.students, reason), "committed_at": [], "coordinator_peak_mib": 0.0,
                "coordinator_cpu_seconds": 0.0, "coordinator_busy_seconds": {}}


if __name__ == "__main__":
    # Through the package, so that Dask sends grade_on_worker by reference, never pickled by value.
    import gc

    from grader.parallel import main as package_main
    status = package_main()
    gc.freeze()  # or the interpreter's last collection walks the whole heap at exit: 0.4 s
    sys.exit(status)
