"""Per-student, per-exercise scores from the gradebook, and a summary of the grading reports.

    python -m grader.report --course-root .

prints the score table and the batch summary (most frequent failure reasons, kernel problems,
intake notes), and writes the summary to autograded/summary.json.
"""

import argparse
import collections
import glob
import json
import os

from nbgrader.api import Gradebook, MissingEntry

from .course import ASSIGNMENT, EXERCISES, REPO_ROOT, exercise_of

COURSE_ID = "gradient-checking"


def default_db_url(course_root):
    """The gradebook nbgrader uses: GRADEBOOK_URL if set (see nbgrader_config.py), else SQLite in the course root."""
    return os.environ.get("GRADEBOOK_URL") or "sqlite:///" + os.path.join(os.path.abspath(course_root), "gradebook.db")


def exercise_scores(db_url, notebook=ASSIGNMENT, assignment=ASSIGNMENT):
    """Scores from the gradebook.

    returns: dict student id -> dict exercise -> (score, max_score), for every student with a
             submission; cells that still need a manual grade count as 0 and are named in a note
    """
    scores = {}
    with Gradebook(db_url, COURSE_ID) as gradebook:
        for student in sorted(s.id for s in gradebook.students):
            try:
                submission = gradebook.find_submission_notebook(notebook, assignment, student)
            except MissingEntry:
                continue
            per_exercise = {exercise: [0.0, 0.0] for exercise in EXERCISES}
            for grade in submission.grades:
                if grade.cell_type != "code":
                    continue
                total = per_exercise[exercise_of(grade.name)]
                total[0] += grade.score or 0.0
                total[1] += grade.max_score
            scores[student] = {exercise: tuple(value) for exercise, value in per_exercise.items()}
    return scores


def format_table(scores):
    """A plain-text table: one row per student, one column per exercise, and the total."""
    headers = ["student", *EXERCISES, "total"]
    rows = []
    for student, per_exercise in scores.items():
        total = sum(score for score, _ in per_exercise.values())
        maximum = sum(max_score for _, max_score in per_exercise.values())
        rows.append([student, *(f"{score:g}/{max_score:g}" for score, max_score in per_exercise.values()),
                     f"{total:g}/{maximum:g}"])
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) for row in [headers, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def batch_summary(course_root, assignment=ASSIGNMENT, top=10):
    """What the grading reports of a batch say, for the instructor.

    returns: dict with "submissions", "seconds_per_submission", "seconds_per_step" (where the
             time of one submission goes, on average), "failures" (most frequent
             [message, count]), "kernel_problems" and "notes" (student -> list)
    """
    reports = []
    for path in sorted(glob.glob(os.path.join(course_root, "autograded", "*", assignment, "grading_report.json"))):
        with open(path, encoding="utf-8") as handle:
            reports.append(json.load(handle))
    failures = collections.Counter(
        f"{check['grade_id']}: {check['message']}" for report in reports for check in report["checks"]
        if not check["passed"])
    seconds = [report["seconds"] for report in reports if report.get("seconds") is not None]
    steps = collections.defaultdict(list)
    for report in reports:
        for step, value in report.get("timings", {}).items():
            steps[step].append(value)
    return {
        "submissions": len(reports),
        "seconds_per_submission": round(sum(seconds) / len(seconds), 3) if seconds else None,
        "seconds_per_step": {step: round(sum(values) / len(values), 3) for step, values in steps.items()},
        "failures": [[message, count] for message, count in failures.most_common(top)],
        "kernel_problems": {r["student"]: r["kernel_problem"] for r in reports if r.get("kernel_problem")},
        "notes": {r["student"]: r["notes"] for r in reports if r.get("notes")},
    }


def format_summary(summary):
    """The batch summary as plain text."""
    lines = [f"{summary['submissions']} graded submissions, "
             f"{summary['seconds_per_submission']} s each on average (sandbox and judging included)"]
    if summary["seconds_per_step"]:
        lines.append("  of which: " + ", ".join(f"{step} {seconds} s" for step, seconds in summary["seconds_per_step"].items()))
    if summary["failures"]:
        lines.append("Most frequent failures:")
        lines += [f"  {count:3d} x {message[:150]}" for message, count in summary["failures"]]
    for title, key in (("Kernel problems:", "kernel_problems"), ("Intake notes:", "notes")):
        if summary[key]:
            lines.append(title)
            lines += [f"  {student}: {value}" for student, value in summary[key].items()]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course-root", default=REPO_ROOT)
    parser.add_argument("--db-url", default=None, help="gradebook URL (default: the course's SQLite file)")
    args = parser.parse_args()
    print(format_table(exercise_scores(args.db_url or default_db_url(args.course_root))))
    summary = batch_summary(args.course_root)
    if summary["submissions"]:
        with open(os.path.join(args.course_root, "autograded", "summary.json"), "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=1)
        print()
        print(format_summary(summary))


if __name__ == "__main__":
    main()
