"""How fast a class is graded: stock nbgrader, this project serial and on Dask, and the bare floor.

    .venv/bin/python bench/grading_throughput.py [--sizes 8 16 32] [--modes ...] [--repeats R] [--out bench/results]

For each size N it builds a synthetic class (tools.submissions.synthetic_class: correct, wrong and
crashing submissions) and times, in one run on this machine, each mode on a fresh copy of it:

- stock     `nbgrader autograde` with only the course id configured (its own Execute, no sandbox)
- judged    `nbgrader autograde` with this repository's configuration (sandbox, judge), serial
- dask-1    `python -m grader.parallel` on a LocalCluster of 1 worker
- dask-all  `python -m grader.parallel` on a LocalCluster of one worker per core
- floor     nbclient executing each submitted notebook, nothing else (no grading, no gradebook)

With --repeats R, each size runs every mode R times, in turn (all modes once, then again), and keeps
each mode's run of median time: this machine's speed drifts by several percent from minute to
minute, and a single run of one mode can land in a slow spell. It prints submissions per second,
the median seconds per submission (the median gap between two
submissions finishing), the CPU seconds per submission (the busy CPU of the whole machine while
the mode runs, from /proc/stat: the grader, its Dask workers and every kernel, sandboxed or
forked, whoever reaps them; so run it on an otherwise idle machine), the peak memory of the
grading process, and the ratios; it writes
results.json and a plot of time against N to --out, and extrapolates each mode to 10,000.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
BIN = os.path.dirname(sys.executable)
ENV = {**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]}
ASSIGNMENT = "gradient_checking"
MODES = ("stock", "judged", "dask-1", "dask-all", "floor")
STUDENT_STARTED = re.compile(r"^(\d+\.\d+) Creating/updating student with ID", re.MULTILINE)
NOT_GRADED = re.compile(r"There was an error processing assignment '[^']*' for student '([^']*)'")


def machine_busy_seconds():
    """CPU seconds the whole machine has spent busy since boot (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as handle:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, handle.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def run(command, cwd, check=True):
    """Run a command. returns: (seconds, stdout+stderr text, peak RSS in MiB of its largest process,
    busy CPU seconds of the whole machine meanwhile)"""
    busy = machine_busy_seconds()
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if check and os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{output[-3000:]}")
    return seconds, output, usage.ru_maxrss / 1024, machine_busy_seconds() - busy


def build_class(size):
    """A course root with source/, release/ and a synthetic class of `size` in submitted/."""
    from tools import submissions
    root = tempfile.mkdtemp(prefix=f"gc-bench-{size}-")
    shutil.copytree(os.path.join(REPO_ROOT, "source"), os.path.join(root, "source"),
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    run([os.path.join(BIN, "nbgrader"), "generate_assignment", ASSIGNMENT, "--force", f"--CourseDirectory.root={root}"],
        REPO_ROOT)
    for case in submissions.synthetic_class(size):
        submissions.write_submission(case, root, release_root=root)
    return root


def fresh_copy(template, stock=False):
    root = tempfile.mkdtemp(prefix="gc-bench-run-")
    for folder in ("source", "release", "submitted"):
        shutil.copytree(os.path.join(template, folder), os.path.join(root, folder))
    if stock:
        with open(os.path.join(root, "nbgrader_config.py"), "w") as handle:
            from grader.course import course_directory  # stock nbgrader, with only the course's id
            handle.write(f"c = get_config()\nc.CourseDirectory.course_id = {course_directory().course_id!r}\n")
        run([os.path.join(BIN, "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], root)
    else:
        shutil.copy(os.path.join(template, "gradebook.db"), root)
    return root


def median_gap(times, end):
    """Median seconds per submission from the times submissions started (or finished), and the end."""
    gaps = [b - a for a, b in zip(times, times[1:] + [end])]
    return statistics.median(gaps) if gaps else None


def time_nbgrader(template, size, stock):
    root = fresh_copy(template, stock)
    cwd = root if stock else REPO_ROOT
    command = [os.path.join(BIN, "nbgrader"), "autograde", ASSIGNMENT, "--force",
               "--Application.log_format=%(created)f %(message)s"] + ([] if stock else [f"--CourseDirectory.root={root}"])
    started = time.time()
    # Stock nbgrader exits 1 when a kernel dies (DeadKernelError): it grades the others, not those.
    seconds, output, peak, cpu = run(command, cwd, check=not stock)
    starts = [float(stamp) for stamp in STUDENT_STARTED.findall(output)]
    assert len(starts) == size, f"expected {size} submissions in the log, found {len(starts)}"
    not_graded = sorted(set(NOT_GRADED.findall(output)))
    assert stock or not not_graded, not_graded
    shutil.rmtree(root)
    return {"seconds": seconds, "median": median_gap(starts, started + seconds), "peak_mib": peak,
            "cpu_seconds": cpu, "not_graded": not_graded}


def time_dask(template, size, workers):
    root = fresh_copy(template)
    command = [os.path.join(BIN, "python"), "-m", "grader.parallel", ASSIGNMENT, f"--workers={workers}",
               f"--CourseDirectory.root={root}"]
    seconds, output, _, cpu = run(command, REPO_ROOT)
    summary = json.loads([line for line in output.splitlines() if line.startswith('{"submissions"')][-1])
    assert summary["graded"] == size and not summary["failed"], summary
    shutil.rmtree(root)
    return {"seconds": seconds, "median": summary["median_seconds_between_commits"],
            "peak_mib": summary["coordinator_peak_mib"], "cpu_seconds": cpu,
            "cluster_start_and_stop": seconds - summary["seconds"]}


def time_floor(template, size):
    """nbclient alone, in this process, one submission after another, in the release folder."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    release = os.path.join(template, "release", ASSIGNMENT)
    paths = sorted(os.path.join(template, "submitted", student, ASSIGNMENT, f"{ASSIGNMENT}.ipynb")
                   for student in os.listdir(os.path.join(template, "submitted")))
    import resource

    each = []
    busy = machine_busy_seconds()
    start = time.perf_counter()
    stderr = os.dup(2)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # the kernels' warnings about TCP
    for path in paths:
        clock = time.perf_counter()
        client = NotebookClient(nbformat.read(path, as_version=4), timeout=30, allow_errors=True,
                                kernel_name="python3", resources={"metadata": {"path": release}})
        try:
            client.execute()
        except DeadKernelError:
            pass
        each.append(time.perf_counter() - clock)
    os.dup2(stderr, 2)
    return {"seconds": time.perf_counter() - start, "median": statistics.median(each),
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "cpu_seconds": machine_busy_seconds() - busy}


def measure(mode, template, size):
    if mode in ("stock", "judged"):
        return time_nbgrader(template, size, stock=mode == "stock")
    if mode == "floor":
        return time_floor(template, size)
    return time_dask(template, size, workers=1 if mode == "dask-1" else os.cpu_count())


def fit(points):
    """Least-squares line through (N, seconds). returns: (seconds per submission, fixed seconds)"""
    xs, ys = [x for x, _ in points], [y for _, y in points]
    if len(xs) < 2:
        return ys[0] / xs[0], 0.0
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sum((x - mean_x) ** 2 for x in xs)
    return slope, mean_y - slope * mean_x


def plot(results, sizes, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, (axes, cpu_axes) = plt.subplots(1, 2, figsize=(11, 4.5))
    for mode, by_size in results.items():
        axes.plot(sizes, [by_size[str(n)]["seconds"] for n in sizes], "o-", label=mode)
        cpu_axes.plot(sizes, [by_size[str(n)]["cpu_per_submission"] for n in sizes], "o-", label=mode)
    axes.set_xlabel("submissions in the class (N)")
    axes.set_ylabel("seconds to grade the class")
    axes.set_title(f"Grading time against class size ({os.cpu_count()} cores)")
    cpu_axes.set_xlabel("submissions in the class (N)")
    cpu_axes.set_ylabel("busy CPU seconds per submission (machine)")
    cpu_axes.set_title("Where the CPU goes")
    cpu_axes.set_ylim(bottom=0)
    for each in (axes, cpu_axes):
        each.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110, metadata={"Software": None})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs of each mode at each size, in turn; the run of median time is kept")
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "bench", "results"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = {mode: {} for mode in args.modes}
    for size in args.sizes:
        template = build_class(size)
        runs = {mode: [] for mode in args.modes}
        for _ in range(args.repeats):
            for mode in args.modes:
                result = measure(mode, template, size)
                result["per_second"] = size / result["seconds"]
                result["cpu_per_submission"] = result["cpu_seconds"] / size
                runs[mode].append(result)
                missed = f"  NOT GRADED: {len(result['not_graded'])}" if result.get("not_graded") else ""
                print(f"N={size:4d} {mode:9s} {result['seconds']:7.1f} s  {result['per_second']:5.2f} submissions/s  "
                      f"median {result['median']:.2f} s/submission  CPU {result['cpu_per_submission']:.2f} s/submission  "
                      f"peak {result['peak_mib']:.0f} MiB{missed}", flush=True)
        for mode, each in runs.items():
            kept = sorted(each, key=lambda result: result["seconds"])[len(each) // 2]
            results[mode][str(size)] = {**kept, "runs_seconds": [round(result["seconds"], 2) for result in each]}
        shutil.rmtree(template)
    largest = str(max(args.sizes))
    print(f"\nAt N={largest} on {os.cpu_count()} cores:")
    print(f"{'mode':9s} {'subs/s':>7s} {'median s':>9s} {'CPU s/sub':>10s} {'peak MiB':>9s} {'s/sub (fit)':>12s} "
          f"{'10,000 subs':>12s}")
    extrapolated = {}
    for mode, by_size in results.items():
        slope, fixed = fit([(int(n), r["seconds"]) for n, r in by_size.items()])
        extrapolated[mode] = {"seconds_per_submission": slope, "fixed_seconds": fixed,
                              "hours_for_10000": (fixed + 10_000 * slope) / 3600}
        r = by_size[largest]
        print(f"{mode:9s} {r['per_second']:7.2f} {r['median']:9.2f} {r['cpu_per_submission']:10.2f} "
              f"{r['peak_mib']:9.0f} {slope:12.2f} "
              f"{extrapolated[mode]['hours_for_10000']:10.2f} h")
    ratios = {}
    for mode in ("dask-all", "dask-1"):
        if {"stock", mode} <= results.keys():
            for size in map(str, args.sizes):
                ratios[f"{mode} / stock throughput at N={size}"] = (results[mode][size]["per_second"]
                                                                   / results["stock"][size]["per_second"])
    for mode in ("judged", "dask-1", "dask-all", "floor"):
        if {"stock", mode} <= results.keys():
            ratios[f"{mode} / stock CPU per submission"] = (results[mode][largest]["cpu_per_submission"]
                                                           / results["stock"][largest]["cpu_per_submission"])
    if {"stock", "judged"} <= results.keys():
        ratios["judged / stock time"] = results["judged"][largest]["seconds"] / results["stock"][largest]["seconds"]
    if {"floor", "dask-1"} <= results.keys():
        ratios["dask-1 / floor seconds per submission"] = results["dask-1"][largest]["median"] / results["floor"][largest]["median"]
    if {"floor", "dask-all"} <= results.keys():
        ratios["dask-all / floor time"] = results["dask-all"][largest]["seconds"] / results["floor"][largest]["seconds"]
    print()
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}")
    with open(os.path.join(args.out, "results.json"), "w") as handle:
        json.dump({"cores": os.cpu_count(), "sizes": args.sizes, "results": results, "ratios": ratios,
                   "extrapolated": extrapolated}, handle, indent=1)
    plot(results, args.sizes, os.path.join(args.out, "grading_time.png"))
    print(f"wrote {os.path.relpath(args.out, REPO_ROOT)}/results.json and grading_time.png")


if __name__ == "__main__":
    main()
