"""Per-student, per-exercise scores, read from the gradebook.

    python -m grader.report --course-root .
"""

import argparse
import os

from nbgrader.api import Gradebook, MissingEntry

from .course import ASSIGNMENT, EXERCISES, REPO_ROOT, exercise_of

COURSE_ID = "gradient-checking"


def default_db_url(course_root):
    """The SQLite gradebook nbgrader uses by default in a course root."""
    return "sqlite:///" + os.path.join(os.path.abspath(course_root), "gradebook.db")


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course-root", default=REPO_ROOT)
    parser.add_argument("--db-url", default=None, help="gradebook URL (default: the course's SQLite file)")
    args = parser.parse_args()
    print(format_table(exercise_scores(args.db_url or default_db_url(args.course_root))))


if __name__ == "__main__":
    main()
