"""Deadlines: the due date and the late policy, both set in nbgrader_config.py.

nbgrader keeps an assignment's due date in the gradebook only. ``ApplyDueDate`` writes the one set
in the configuration there before nbgrader's ``AssignLatePenalties`` reads it, so the configuration
stays the single source of truth (a date set in formgrader is overwritten at the next autograde).
``PerStartedDay`` is the course's late policy: a fraction of the points for every day, or part of a
day, after the due date. Everything downstream (``nbgrader export``, the feedback, ``grader.report``
and the site) uses nbgrader's stored penalty, so all of them show the score after it.
"""

import math

from nbgrader.api import Gradebook
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import parse_utc
from traitlets import Dict, Float


class ApplyDueDate(NbGraderPreprocessor):
    """Set the assignment's due date in the gradebook from ``ApplyDueDate.due_dates``."""

    due_dates = Dict({}, help="assignment id -> due date, such as '2026-11-20 23:59:00 UTC'").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        due = self.due_dates.get(info["assignment"])
        if due:
            with Gradebook(info["db_url"]) as gradebook:
                assignment = gradebook.find_assignment(info["assignment"])
                if assignment.duedate != parse_utc(due):
                    gradebook.update_or_create_assignment(info["assignment"], duedate=due)
        return nb, resources


class PerStartedDay(LateSubmissionPlugin):
    """A penalty of ``fraction_per_day`` of the score for each started day late, at most the score."""

    fraction_per_day = Float(0.1, help="fraction of the score taken for each started day late").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        if total_seconds_late <= 0:
            return None
        days = math.ceil(total_seconds_late / 86400)
        return min(score, score * self.fraction_per_day * days)


def policy_fingerprint(config, assignment: str) -> str:
    """What decides a late penalty for an assignment, as text (for the parallel grader's re-run check)."""
    return repr((config.get("ApplyDueDate", {}).get("due_dates", {}).get(assignment),
                 str(config.get("AssignLatePenalties", {}).get("plugin_class", "")),
                 dict(config.get("PerStartedDay", {})), dict(config.get("LateSubmissionPlugin", {}))))
