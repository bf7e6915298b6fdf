"""What students who are slow only in the hidden tests cost a serial batch, with the default limits.

    .venv/bin/python bench/slow_students.py [--sleep 25] [--slow 3] [--out bench/results]

In one run on this machine: `nbgrader autograde` (this repository's configuration, its default
limits) grades the sample class alone, then the sample class plus `--slow` copies of
tests/adversarial/adv_slow_hidden_tests.py, whose gradient_check_n sleeps `--sleep` seconds on every
call from the hidden tests. The bound it checks: each slow student costs at most the hidden tests'
time budget (JudgedExecute.test_budget, 60 s) plus one interrupted call's grace and its own
notebook's cells, so the batch takes at most the sample class's time + slow x (budget + 15 s).
It writes slow_students.json to --out.
"""

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
BIN = os.path.dirname(sys.executable)
ASSIGNMENT = "gradient_checking"
PER_SLOW_STUDENT_OVERHEAD = 15.0  # seconds beyond the budget: the interrupted call, its own cells, intake


def course(slow, sleep):
    """A course with the sample class and `slow` students who stall in the hidden tests. returns: root"""
    from tools import submissions
    root = tempfile.mkdtemp(prefix="gc-bench-slow-")
    shutil.copytree(os.path.join(REPO_ROOT, "source"), os.path.join(root, "source"),
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    grade(root, "generate_assignment", ASSIGNMENT, "--force")
    cases = submissions.read_directory(submissions.SAMPLE_CLASS_DIR)
    slow_case = submissions.parse_submission(os.path.join(submissions.ADVERSARIAL_DIR, "adv_slow_hidden_tests.py"))
    cases += [dataclasses.replace(slow_case, name=f"slow{number}") for number in range(slow)]
    for case in cases:
        submissions.write_submission(case, root, release_root=root, substitutions={"SLOW_SECONDS": str(sleep)})
    return root


def grade(root, *args):
    """One nbgrader command on a course. returns: its wall-clock seconds"""
    started = time.perf_counter()
    subprocess.run([os.path.join(BIN, "nbgrader"), *args, f"--CourseDirectory.root={root}"], cwd=REPO_ROOT,
                   env={**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]}, check=True, capture_output=True)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sleep", type=float, default=25, help="seconds each slow call sleeps")
    parser.add_argument("--slow", type=int, default=3, help="how many slow students")
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "bench", "results"))
    args = parser.parse_args()
    from grader.course import REPORT_NAME, assignment_folder
    from grader.preprocessors import JudgedExecute
    budget = JudgedExecute().test_budget
    alone = grade(course(0, args.sleep), "autograde", ASSIGNMENT)
    root = course(args.slow, args.sleep)
    together = grade(root, "autograde", ASSIGNMENT)
    slow = {}
    for number in range(args.slow):
        with open(os.path.join(assignment_folder(root, "autograded", f"slow{number}"), REPORT_NAME)) as handle:
            report = json.load(handle)
        slow[f"slow{number}"] = {"seconds": report["seconds"], "judging": report["timings"]["judging"],
                                 "score": report["score"]}
    bound = alone + args.slow * (budget + PER_SLOW_STUDENT_OVERHEAD)
    results = {"test_budget": budget, "sleep_per_hidden_call": args.sleep, "sample_class_alone_seconds": round(alone, 1),
               "with_slow_students_seconds": round(together, 1), "bound_seconds": round(bound, 1),
               "within_bound": together <= bound, "slow_students": slow}
    print(json.dumps(results, indent=1))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "slow_students.json"), "w") as handle:
        json.dump(results, handle, indent=1)
    return 0 if together <= bound else 1


if __name__ == "__main__":
    sys.exit(main())
