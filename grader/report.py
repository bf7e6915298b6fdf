"""Per-student, per-exercise scores from the gradebook, and a summary of the grading reports.

    python -m grader.report --course-root .

prints the score table (each exercise, the raw total, the late penalty and the score after it, as
nbgrader export computes it) and the batch summary (most frequent failure reasons, kernel
problems, intake notes), and writes the summary to autograded/summary.json.
"""

import argparse
import collections
import glob
import json
import os

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory

from .course import (ASSIGNMENT, EXERCISES, REPO_ROOT, REPORT_NAME, assignment_folder, course_directory, exercise_of,
                     step_folder)
from .text import one_line


def exercise_scores(coursedir: CourseDirectory, notebook: str = ASSIGNMENT,
                    assignment: str = ASSIGNMENT) -> dict[str, dict[str, tuple[float, float]]]:
    """Scores from the gradebook, before any late penalty.

    coursedir -- the course's CourseDirectory (its gradebook and course id)
    returns: dict student id -> dict exercise -> (score, max_score), for every student with a
             submission; cells that still need a manual grade count as 0
    """
    scores = {}
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
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


def late_penalties(coursedir: CourseDirectory, assignment: str = ASSIGNMENT) -> dict[str, float]:
    """The late penalty nbgrader stored for each student's submission (0.0 when on time). returns: dict"""
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        return {submission.student.id: float(submission.late_submission_penalty or 0.0)
                for submission in gradebook.assignment_submissions(assignment)}


def final_scores(scores: dict, penalties: dict[str, float]) -> dict[str, float]:
    """Each student's score after the late penalty, as nbgrader export computes it: dict student -> float"""
    return {student: max(0.0, sum(score for score, _ in per.values()) - penalties.get(student, 0.0))
            for student, per in scores.items()}


def format_table(scores: dict, penalties: dict[str, float] | None = None) -> str:
    """A plain-text table: one row per student, one column per exercise, the total, the late
    penalty and the score after it."""
    penalties = penalties or {}
    final = final_scores(scores, penalties)
    headers = ["student", *EXERCISES, "total", "late", "score"]
    rows = []
    for student, per_exercise in scores.items():
        total = sum(score for score, _ in per_exercise.values())
        maximum = sum(max_score for _, max_score in per_exercise.values())
        late = f"-{penalties[student]:g}" if penalties.get(student) else ""
        rows.append([one_line(student), *(f"{score:g}/{max_score:g}" for score, max_score in per_exercise.values()),
                     f"{total:g}/{maximum:g}", late, f"{final[student]:g}/{maximum:g}"])
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [headers, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def batch_summary(course_root: str, assignment: str = ASSIGNMENT, top: int = 10) -> dict:
    """What the grading reports of a batch say, for the instructor.

    returns: dict with "submissions", "seconds_per_submission", "seconds_per_step" (where the
             time of one submission goes, on average), "failures" (most frequent
             [message, count]), "kernel_problems" and "notes" (student -> list)
    """
    reports = []
    pattern = os.path.join(assignment_folder(course_root, "autograded", "*"), REPORT_NAME)
    for path in sorted(glob.glob(pattern)):
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


def format_summary(summary: dict) -> str:
    """The batch summary as plain text (every message from a student's run stripped of control characters)."""
    lines = [f"{summary['submissions']} graded submissions, "
             f"{summary['seconds_per_submission']} s each on average (sandbox and judging included)"]
    if summary["seconds_per_step"]:
        lines.append("  of which: " + ", ".join(f"{step} {seconds} s" for step, seconds in summary["seconds_per_step"].items()))
    if summary["failures"]:
        lines.append("Most frequent failures:")
        lines += [f"  {count:3d} x {one_line(message, 150)}" for message, count in summary["failures"]]
    for title, key in (("Kernel problems:", "kernel_problems"), ("Intake notes:", "notes")):
        if summary[key]:
            lines.append(title)
            lines += [f"  {one_line(student)}: {one_line(value if isinstance(value, str) else '; '.join(value), 400)}"
                      for student, value in summary[key].items()]
    return "\n".join(lines)


def format_student(report: dict) -> str:
    """One student's grading report as plain text: every check, the notes and any kernel problem."""
    lines = [f"{one_line(report['student'])}: {report['score']:g}/{report['max_score']:g}"]
    for check in report["checks"]:
        mark = "passed" if check["passed"] else "FAILED"
        lines.append(f"  {mark} {check['grade_id']} ({check['score']:g}/{check['max_score']:g})"
                     + ("" if check["passed"] else f": {one_line(check['message'], 300)}"))
    if report.get("kernel_problem"):
        lines.append(f"  kernel problem: {one_line(report['kernel_problem'], 300)}")
    lines += [f"  note: {one_line(note)}" for note in report.get("notes", [])]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course-root", default=REPO_ROOT)
    parser.add_argument("--brief", action="store_true", help="the table only, and where the summary is")
    parser.add_argument("--student", help="every check, note and problem of this one student")
    args = parser.parse_args()
    coursedir = course_directory(os.path.abspath(args.course_root))
    if args.student:
        with open(os.path.join(assignment_folder(coursedir, "autograded", args.student), REPORT_NAME),
                  encoding="utf-8") as handle:
            print(format_student(json.load(handle)))
        return
    print(format_table(exercise_scores(coursedir), late_penalties(coursedir)))
    summary = batch_summary(args.course_root)
    if summary["submissions"]:
        path = os.path.join(step_folder(coursedir, "autograded"), "summary.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=1)
        print()
        print(f"Reasons, kernel problems and intake notes: {os.path.relpath(path)} (or python -m grader.report)"
              if args.brief else format_summary(summary))


if __name__ == "__main__":
    main()
