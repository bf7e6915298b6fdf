"""Per-submission grading time on the sample class: stock nbgrader against this project, in one run.

    .venv/bin/python bench/grading_time.py [--repeat 2]

Both grade the same seven notebooks from a fresh copy of the course. "stock" runs nbgrader with
only the course id configured (its own Execute, in the grader's account, fail-open scoring);
"judged" runs it with this repository's nbgrader_config.py (sandbox, judging outside the kernel).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def nbgrader(cwd, *args):
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]}
    subprocess.run([os.path.join(BIN, "nbgrader"), *args], cwd=cwd, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def course_copy(stock):
    root = tempfile.mkdtemp(prefix="gc-bench-")
    for folder in ("source", "submitted"):
        shutil.copytree(os.path.join(REPO_ROOT, folder), os.path.join(root, folder))
    if stock:
        with open(os.path.join(root, "nbgrader_config.py"), "w") as handle:
            handle.write('c = get_config()\nc.CourseDirectory.course_id = "gradient-checking"\n')
    return root


def grade(stock):
    """Seconds to autograde the sample class once, from a fresh course copy."""
    root = course_copy(stock)
    cwd, extra = (root, []) if stock else (REPO_ROOT, [f"--CourseDirectory.root={root}"])
    nbgrader(cwd, "generate_assignment", "gradient_checking", "--force", *extra)
    start = time.perf_counter()
    nbgrader(cwd, "autograde", "gradient_checking", "--force", *extra)
    seconds = time.perf_counter() - start
    shutil.rmtree(root)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    students = len(os.listdir(os.path.join(REPO_ROOT, "submitted")))
    results = {"stock": [], "judged": []}
    for _ in range(args.repeat):
        for name in results:
            results[name].append(grade(stock=name == "stock"))
    for name, runs in results.items():
        best = min(runs)
        print(f"{name:7s} {best:6.2f} s for {students} submissions: {best / students:.2f} s per submission "
              f"(runs: {', '.join(f'{run:.2f}' for run in runs)})")
    print(f"judged / stock: {min(results['judged']) / min(results['stock']):.2f}")


if __name__ == "__main__":
    main()
