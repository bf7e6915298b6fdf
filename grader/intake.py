"""Before nbgrader converts a submission: find its notebook and make it readable.

nbgrader's own behaviour is to skip a renamed notebook and to fail on invalid JSON, leaving the
student ungraded or in "needs manual grade". This pre-convert hook (``nbgrader_config.py``) instead:

- takes a single notebook under another name as the assignment's notebook;
- repairs invalid JSON when the notebook can be recovered (trailing garbage, control characters),
  and otherwise grades the blank release notebook, so every check scores 0 with a reason;
- ignores extra notebooks, with a note.

Only those two cases touch the student's folder, and nothing is lost: a renamed notebook stays where
it is beside its copy, and a repaired one is kept as ``<name>.original``. The notes reach the
grading report through ``NOTES`` (same process) and the notebook's metadata (``grader_intake``).
"""

import json
import os
import shutil

import nbformat

from .course import NOTEBOOK, notebook_path

INTAKE_KEY = "grader_intake"
NOTES = {}  # (student, assignment) -> notes; read by the preprocessors in the same nbgrader process


def _read_leniently(path):
    """The notebook at path, repaired if possible. returns: (notebook or None, notes)"""
    with open(path, "rb") as handle:
        raw = handle.read()
    text = raw.decode("utf-8", errors="replace")
    try:
        return nbformat.reads(text, as_version=4), []
    except Exception as error:  # anything nbformat rejects
        first_error = f"{type(error).__name__}: {str(error)[:200]}"
    try:
        text = text.lstrip()
        data, end = json.JSONDecoder(strict=False).raw_decode(text)
        notebook = nbformat.from_dict(data)
        nbformat.validate(notebook)
        return notebook, [f"the notebook was not valid JSON ({first_error}); it was repaired"
                          + (" (text after the notebook was ignored)" if text[end:].strip() else "")]
    except Exception:
        return None, [f"the notebook could not be read ({first_error}); graded as a blank notebook"]


def _blank_notebook(course_root):
    return nbformat.read(notebook_path(course_root, "release"), as_version=4)


def prepare_submission(assignment, student, notebooks):
    """nbgrader pre-convert hook: make ``notebooks`` hold exactly the assignment's readable notebook.

    notebooks -- the converter's own list of notebook paths for one student; changed in place
    """
    if not notebooks:
        return
    folder = os.path.dirname(notebooks[0])
    expected = os.path.join(folder, NOTEBOOK)
    notes = []
    if expected not in notebooks:
        if len(notebooks) != 1:
            return  # several notebooks, none with the right name: nbgrader grades none; say so there
        original = notebooks[0]
        notes.append(f"the notebook was named {os.path.basename(original)!r}; graded as {NOTEBOOK}")
        shutil.copyfile(original, expected)
        notebooks[:] = [expected]
    else:
        extra = [os.path.basename(path) for path in notebooks if path != expected]
        if extra:
            notes.append(f"extra notebooks ignored: {', '.join(extra)}")
        notebooks[:] = [expected]
    notebook, read_notes = _read_leniently(expected)
    notes += read_notes
    NOTES[(os.path.basename(os.path.dirname(folder)), os.path.basename(folder))] = notes
    if read_notes:
        if notebook is None:
            course_root = os.path.dirname(os.path.dirname(os.path.dirname(folder)))  # <root>/submitted/<student>/<assignment>
            notebook = _blank_notebook(course_root)
        backup = expected + ".original"
        if not os.path.exists(backup):
            shutil.copyfile(expected, backup)
        notebook.metadata[INTAKE_KEY] = read_notes
        nbformat.write(notebook, expected)
