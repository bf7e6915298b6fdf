"""``nbgrader zip_collect`` for the downloads of common learning-management systems.

An LMS's "download all submissions" gives one zip of files named after the student. This collector
reads those names; set the LMS in nbgrader_config.py (``c.LmsFileNameCollector.lms``) and run

    nbgrader zip_collect gradient_checking

after putting the zip in downloaded/gradient_checking/archive/. The file names it reads:

- canvas:     ``smithjane_12345_678901_gradient_checking.ipynb`` (``smithjane_LATE_12345_...`` when
  late; a resubmission may end ``-1.ipynb``). The student id is the name part, ``smithjane``.
- moodle:     ``Jane Smith_12345_assignsubmission_file_gradient_checking.ipynb``, also inside a
  folder of that name. The student id is the participant number, ``12345``.
- blackboard: ``Gradient Checking_jsmith_attempt_2026-11-20-17-00-00_gradient_checking.ipynb``.
  The student id is ``jsmith``; the attempt's time becomes the submission time.

Intake grades a notebook whatever its name, so the file keeps the name the LMS gave it.
"""

import os
import re

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Enum, default

PATTERNS = {
    "canvas": r"^(?P<student_id>[a-z0-9]+)_(?:LATE_)?\d+_\d+_(?P<file_id>.+)$",
    "moodle": r"^(?P<name>[^_/]+)_(?P<student_id>\d+)_assignsubmission_file_(?P<file_id>.+)$",
    "blackboard": r"^.+?_(?P<student_id>[^_]+)_attempt_(?P<timestamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)_(?P<file_id>.+)$",
}


class LmsFileNameCollector(FileNameCollectorPlugin):
    """Reads student ids (and, where the LMS gives one, the submission time) from LMS file names."""

    lms = Enum(tuple(PATTERNS), default_value="canvas", help="whose download to read").tag(config=True)

    @default("named_regexp")
    def _named_regexp_default(self):
        return PATTERNS[self.lms]

    def collect(self, submitted_file):
        """The student id, file id and time of one extracted file, or None to skip it."""
        name = os.path.basename(submitted_file)
        if self.lms == "moodle" and "_assignsubmission_" in os.path.basename(os.path.dirname(submitted_file)):
            name = os.path.basename(os.path.dirname(submitted_file)) + name  # Moodle's folder per student
        if os.path.splitext(name)[1] not in self.valid_ext:
            return None
        match = re.match(self.named_regexp or PATTERNS[self.lms], name)
        if not match:
            self.log.warning("Not collected, its name is not a %s download's: %s", self.lms, name)
            return None
        info = {"student_id": match["student_id"], "file_id": re.sub(r"-\d+(\.ipynb)$", r"\1", match["file_id"])}
        if "timestamp" in match.groupdict():
            day, time = match["timestamp"][:10], match["timestamp"][11:].replace("-", ":")
            info["timestamp"] = f"{day} {time} UTC"
        return info
