"""Intake: what grading may take from a student's submission folder. Submissions are hostile data.

Two hooks, both set in ``nbgrader_config.py``, run before nbgrader reads or copies anything:

- ``prepare_submission`` (nbgrader's pre-convert hook, once per student, before nbgrader copies the
  folder to autograded/) vets the folder. Only regular files of bounded size and number may stay:
  symbolic links, hard links to other files, FIFOs, sockets, devices, unreadable or oversized files,
  files a browser would run (only ``ACCEPTED_SUFFIXES`` may stay: formgrader serves a submission's
  files from the instructor's server), names with control characters, too deep folders and an
  unreadable ``timestamp.txt`` are moved aside, never followed, to
  ``<submitted>/.refused/<student>/<assignment>-<time>/``; only FIFOs, sockets and devices, which
  hold no work and would trap any tool that copies the course, are removed.
  A submission folder that is itself a link is moved aside whole and graded as blank. It then finds
  the notebook: the assignment's, else the one notebook under another name, else the notebook that
  holds the most exercises, also in subfolders.
- ``IntakeExporter`` (``Autograde.exporter_class``) reads that notebook for nbgrader's sanitize step:
  its bytes without following links (bounded size; any BOM, UTF-16, CRLF; trailing garbage and
  truncation survived; any nbformat 4 minor version or nbformat 3) and lays its cells onto the
  release's skeleton (``layout.py``). A folder without a notebook is graded as the blank release.

The student's files are never changed: the notebook is only read. Every reason goes to the grading
report through ``notes_for``; nothing is taken from the notebook's own metadata.
"""

import datetime
import fnmatch
import json
import os
import re
import stat
import threading
from dataclasses import dataclass, field

import nbformat
from nbconvert.exporters import NotebookExporter
from nbgrader.utils import parse_utc

from . import layout, nbgrader_adapter
from .text import one_line

MAX_NOTEBOOK_BYTES = 20 * 1024 ** 2   # a notebook with outputs is a few MB; only its sources are used
MAX_FILE_BYTES = 10 * 1024 ** 2       # any other file
MAX_TOTAL_BYTES = 50 * 1024 ** 2      # all files of one submission together
MAX_FILES = 200
MAX_DEPTH = 6                         # folders below the submission folder
REFUSED_FOLDER = ".refused"           # under the submitted folder; nbgrader's globs skip dot-names
# What nbgrader never copies (CourseDirectory.ignore, set from this in nbgrader_config.py): intake
# leaves these alone. The grading report is the grader's, never a student's.
NEVER_COPIED = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "grading_report.json"]
# Files a submission may carry besides notebooks. Formgrader serves a submission's files from the
# instructor's Jupyter server, so anything a browser would run (.html, .svg, .js, ...) stays out.
ACCEPTED_SUFFIXES = (".ipynb", ".py", ".txt", ".md", ".csv", ".json", ".png", ".jpg", ".jpeg", ".gif", ".npy", ".npz")
TIMESTAMP = "timestamp.txt"


@dataclass
class Intake:
    """What intake found in one submission folder.

    notebook -- path of the notebook to grade, or None to grade the blank release
    notes -- what was done and why, for the grading report (list of str)
    refused -- (path relative to the folder, reason) of everything moved aside
    failed -- True when intake itself failed: the submission is then not graded at all
    """

    student: str
    assignment: str
    folder: str
    notebook: str | None = None
    notes: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    failed: bool = False
    graded: str | None = None  # the laid-out notebook, as compact JSON, once made


_RECORDS = {}  # (student, assignment) -> Intake, read by the preprocessors in the same process
_LOCK = threading.Lock()


def notes_for(student: str, assignment: str) -> list[str]:
    """Intake's notes about one submission (empty if intake did not see it). returns: list of str"""
    with _LOCK:
        record = _RECORDS.get((student, assignment))
        return list(record.notes) if record else []


def forget(student: str, assignment: str) -> None:
    """Drop what intake knew about a submission once it is graded."""
    with _LOCK:
        _RECORDS.pop((student, assignment), None)


# ---------------------------------------------------------------- the folder

def _move_aside(path, folder, quarantine, reason, record):
    """Move one entry (never following it) into the quarantine folder, keeping its relative path."""
    relative = os.path.relpath(path, folder)
    target = os.path.join(quarantine, relative)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.rename(path, target)
    record.refused.append((one_line(relative), reason))


def _link_target(path):
    try:
        return one_line(os.readlink(path), 120)
    except OSError:
        return "?"


def _refusal(entry, depth, totals):
    """Why a folder entry may not be graded, or None when it may. totals: [files, bytes] so far."""
    if not entry.name.isprintable():
        return "its name holds control characters or bytes that are not UTF-8"
    if entry.is_symlink():
        return f"a symbolic link (to {_link_target(entry.path)}): links are never followed"
    info = entry.stat(follow_symlinks=False)
    if stat.S_ISDIR(info.st_mode):
        return f"folders deeper than {MAX_DEPTH} levels are not taken" if depth >= MAX_DEPTH else None
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a FIFO, socket or device)"
    if not entry.name.lower().endswith(ACCEPTED_SUFFIXES):
        return "not a file type a submission may hold (" + ", ".join(ACCEPTED_SUFFIXES) + ")"
    if info.st_nlink > 1:
        return "a hard link to another file"
    if not os.access(entry.path, os.R_OK, follow_symlinks=False):
        return "not readable"
    limit = MAX_NOTEBOOK_BYTES if entry.name.endswith(".ipynb") else MAX_FILE_BYTES
    if info.st_size > limit:
        return f"{info.st_size / 1024 ** 2:.1f} MB, over the {limit // 1024 ** 2} MB limit for one file"
    if totals[0] + 1 > MAX_FILES:
        return f"more than {MAX_FILES} files"
    if totals[1] + info.st_size > MAX_TOTAL_BYTES:
        return f"the submission's files would exceed {MAX_TOTAL_BYTES // 1024 ** 2} MB together"
    totals[0] += 1
    totals[1] += info.st_size
    return None


def _is_special(entry):
    mode = entry.stat(follow_symlinks=False).st_mode
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode))


def _vet(folder, quarantine, record, depth=0, totals=None):
    """Move aside every entry under folder that may not be graded (see the module docstring)."""
    totals = [0, 0] if totals is None else totals
    with os.scandir(folder) as entries:  # notebooks and the timestamp first: junk never crowds them out
        listing = sorted(entries, key=lambda entry: (not entry.name.endswith(".ipynb") and entry.name != TIMESTAMP,
                                                     entry.name))
    for entry in listing:
        if any(fnmatch.fnmatch(entry.name, pattern) for pattern in NEVER_COPIED):
            continue  # nbgrader never copies it, and nothing reads it
        reason = _refusal(entry, depth, totals)
        if reason and _is_special(entry):  # a FIFO, socket or device holds no work: kept, it would be
            os.unlink(entry.path)          # a trap for any tool that copies the course (/dev/zero...)
            record.refused.append((one_line(os.path.relpath(entry.path, record.folder)), reason + ", removed"))
        elif reason:
            _move_aside(entry.path, record.folder, quarantine, reason, record)
        elif entry.is_dir(follow_symlinks=False):
            _vet(entry.path, quarantine, record, depth + 1, totals)


def _vet_timestamp(folder, quarantine, record):
    """nbgrader exits the whole batch on a timestamp.txt it cannot parse: such a file is moved aside."""
    path = os.path.join(folder, TIMESTAMP)
    if not os.path.isfile(path):
        return
    try:
        with open(path, "rb") as handle:
            parse_utc(handle.read(200).decode("utf-8").strip())
    except (ValueError, UnicodeDecodeError, OverflowError) as error:
        _move_aside(path, folder, quarantine, f"not a timestamp ({one_line(error, 80)}); "
                    "the submission was graded without a submission time", record)


def vet_folder(folder: str, student: str, assignment: str) -> Intake:
    """Make the submission folder safe for nbgrader to copy. returns: Intake (notebook not chosen yet)

    folder -- <submitted>/<student>/<assignment>
    """
    record = Intake(student, assignment, folder)
    student_folder = os.path.dirname(folder)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    refused_root = os.path.join(os.path.dirname(student_folder), REFUSED_FOLDER, student)
    quarantine = os.path.join(refused_root, f"{assignment}-{stamp}")
    for link, name in ((student_folder, student), (folder, assignment)):
        if os.path.islink(link) or (os.path.lexists(link) and not os.path.isdir(link)):
            what = f"a link to {_link_target(link)}" if os.path.islink(link) else "not a folder"
            os.makedirs(refused_root, exist_ok=True)
            os.rename(link, os.path.join(refused_root, f"{name}-{stamp}"))
            record.refused.append((name, f"the submission folder was {what}; it was not followed"))
            break
    os.makedirs(folder, exist_ok=True)
    _vet(folder, quarantine, record)
    _vet_timestamp(folder, quarantine, record)
    if record.refused:
        record.notes.append(f"not graded, and kept aside in {REFUSED_FOLDER}/{one_line(student)}/: "
                            + "; ".join(f"{path} ({reason})" for path, reason in record.refused))
    return record


# ---------------------------------------------------------------- the notebook

def _notebooks_in(folder, depth=3):
    """Notebooks under folder (regular files only), top level first. returns: list of paths"""
    found = []
    for directory, folders, files in os.walk(folder):
        level = os.path.relpath(directory, folder).count(os.sep) + (directory != folder)
        folders[:] = sorted(f for f in folders if not f.startswith(".") and level < depth)
        found += [os.path.join(directory, name) for name in sorted(files)
                  if name.endswith(".ipynb") and not os.path.islink(os.path.join(directory, name))]
    return sorted(found, key=lambda path: (path.count(os.sep), path))


def _exercise_count(path, release):
    """How many of the release's answer cells a notebook answers (to choose among several)."""
    cells, _ = read_cells(path)
    if not cells:
        return 0
    notebook, _ = layout.lay_onto(release, cells)
    stubs = {cell.get("id"): cell.source for cell in release.cells if not layout.is_read_only(cell)}
    return sum(1 for cell in notebook.cells if cell.get("id") in stubs and cell.source != stubs[cell.get("id")])


def choose_notebook(record: Intake, expected_name: str, release: nbformat.NotebookNode) -> None:
    """Set record.notebook: the assignment's notebook, or the best other one, with a note."""
    expected = os.path.join(record.folder, expected_name)
    candidates = _notebooks_in(record.folder)
    others = [os.path.relpath(path, record.folder) for path in candidates if path != expected]
    if expected in candidates:
        record.notebook = expected
        if others:
            record.notes.append(f"other notebooks were not graded: {', '.join(one_line(name) for name in others)}")
        return
    if not candidates:
        record.notes.append(f"the submission holds no notebook; it was graded as the blank {expected_name}")
        return
    best = max(candidates, key=lambda path: (_exercise_count(path, release), -candidates.index(path))) \
        if len(candidates) > 1 else candidates[0]
    record.notebook = best
    chosen = one_line(os.path.relpath(best, record.folder))
    ignored = [one_line(name) for name in others if name != os.path.relpath(best, record.folder)]
    record.notes.append(f"the notebook was named {chosen!r}; it was graded as {expected_name}"
                        + (f" (it answers the most exercises; not graded: {', '.join(ignored)})" if ignored else ""))


def _decode(raw):
    """Text of a notebook file, whatever its encoding marks. returns: (text, notes)"""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
                       (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if raw.startswith(bom):
            note = "the notebook began with a byte-order mark" + ("" if codec == "utf-8" else f" ({codec})")
            return raw[len(bom):].decode(codec, errors="replace"), [note]
    if len(raw) > 1 and raw[0] == 0 or raw[1:2] == b"\x00":
        return raw.decode("utf-16-be" if raw[0] == 0 else "utf-16-le", errors="replace"), ["the notebook was UTF-16"]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), ["the notebook held bytes that are not UTF-8; they were replaced"]


def _salvage_cells(text):
    """The complete cells at the start of a notebook whose JSON was cut off. returns: list of dicts"""
    start = re.search(r'"cells"\s*:\s*\[', text)
    if not start:
        return []
    decoder, position, cells = json.JSONDecoder(strict=False), start.end(), []
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        try:
            cell, position = decoder.raw_decode(text, position)
        except (ValueError, RecursionError):
            return cells
        if not isinstance(cell, dict):
            return cells
        cells.append(cell)


def _parse(text):
    """The notebook's cells from its JSON text, as leniently as possible. returns: (cells or None, notes)"""
    decoder = json.JSONDecoder(strict=False)
    try:
        data = json.loads(text, strict=False)
    except (ValueError, RecursionError) as error:
        problem = one_line(f"{type(error).__name__}: {error}", 160)
    else:
        cells, notes = _cells_of(data)
        if cells is not None:
            return cells, notes
        return None, notes + ["the file is JSON but not a notebook; it was graded as blank"]
    start = text.find("{")
    try:
        data, end = decoder.raw_decode(text, max(start, 0))
        cells, notes = _cells_of(data)
        if cells is not None:
            return cells, [f"the notebook was not valid JSON ({problem}); the text after it was ignored"] + notes
    except (ValueError, RecursionError):
        pass
    cells = _salvage_cells(text)
    if cells:
        return cells, [f"the notebook was not valid JSON ({problem}); its first {len(cells)} cells were graded"]
    return None, [f"the notebook could not be read ({problem}); it was graded as blank"]


def _cells_of(data):
    if not isinstance(data, dict):
        return None, []
    major = data.get("nbformat")
    if major == 3 and isinstance(data.get("worksheets"), list):
        try:
            upgraded = nbformat.v4.upgrade(nbformat.from_dict(data))
            return json.loads(nbformat.writes(upgraded))["cells"], ["the notebook was nbformat 3; it was upgraded"]
        except Exception as error:  # anything nbformat's converter trips on
            return None, [f"the nbformat 3 notebook could not be upgraded ({one_line(error, 120)})"]
    if not isinstance(data.get("cells"), list):
        return None, []
    notes = [] if major == 4 else [f"the notebook said nbformat {one_line(major, 20)}; it was read as nbformat 4"]
    return data["cells"], notes


def read_cells(path: str) -> tuple[list[layout.StudentCell] | None, list[str]]:
    """A notebook file's cells, read without following links. returns: (list of StudentCell or None, notes)"""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        return None, [f"the notebook could not be opened ({one_line(error.strerror, 80)}); it was graded as blank"]
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None, ["the notebook is not a regular file; it was graded as blank"]
        raw = handle.read(MAX_NOTEBOOK_BYTES + 1)
    if len(raw) > MAX_NOTEBOOK_BYTES:
        return None, [f"the notebook is over the {MAX_NOTEBOOK_BYTES // 1024 ** 2} MB limit; it was graded as blank "
                      "(clear its outputs and submit again)"]
    text, notes = _decode(raw)
    cells, parse_notes = _parse(text)
    if cells is not None and "\r\n" in text:
        notes.append("the notebook had Windows (CRLF) line endings")
    return (layout.student_cells(cells) if cells is not None else None), notes + parse_notes


def graded_notebook(record: Intake, release: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook to grade for one submission: its cells laid onto the release (made once, and
    its notes added to the record once). returns: a new NotebookNode"""
    if record.graded is None:
        cells, notes = read_cells(record.notebook) if record.notebook else ([], [])
        notebook, layout_notes = layout.lay_onto(release, cells or [])
        record.notes += notes + (layout_notes if cells else [])
        record.graded = json.dumps(notebook)  # compact and unchecked: every step after intake checks the notebook
    return read_checked_later(record.graded)


def read_checked_later(text: str) -> nbformat.NotebookNode:
    """A notebook from nbformat 4 JSON that this grader wrote (compact or not), as nbformat.reads(text, 4)
    reads it but without its check, which only logs: the preprocessor steps it goes through check it and raise."""
    return nbformat.reader.reads(text)


def notebook_to_grade(record: Intake) -> nbformat.NotebookNode:
    """graded_notebook of a record that take_in made, on its assignment's release. returns: a new NotebookNode"""
    return graded_notebook(record, _release(record.assignment)[1])


# ---------------------------------------------------------------- nbgrader's hooks

_RELEASES = {}  # assignment -> (path, modification time, notebook file name, release notebook)


def load_release(coursedir, assignment: str) -> str:
    """Read (once, and again when it changes) the release notebook that submissions are laid onto.

    returns: the notebook's file name, which every submission's notebook is graded as
    """
    folder = coursedir.format_path(coursedir.release_directory, ".", assignment)
    names = sorted(name for name in os.listdir(folder) if name.endswith(".ipynb")) if os.path.isdir(folder) else []
    if len(names) != 1:
        raise RuntimeError(f"{folder} must hold exactly one notebook (it holds {len(names)}): "
                           "run nbgrader generate_assignment first")
    path = os.path.join(folder, names[0])
    modified = os.stat(path).st_mtime_ns
    with _LOCK:
        known = _RELEASES.get(assignment)
        if known is None or known[:2] != (path, modified):
            _RELEASES[assignment] = (path, modified, names[0], nbformat.read(path, as_version=4))
    return names[0]


def _release(assignment):
    """(notebook file name, release notebook) of an assignment loaded by load_release."""
    with _LOCK:
        if assignment not in _RELEASES:
            raise RuntimeError(f"intake has not loaded the release of {assignment}: nbgrader_config.py "
                               "must call grader.preprocessors.prepare_batches()")
        return _RELEASES[assignment][2:]


def submission_of(folder: str) -> tuple[str, str]:
    """(student, assignment) of a submission folder, <submitted>/<student>/<assignment>."""
    return os.path.basename(os.path.dirname(folder)), os.path.basename(folder)


def take_in(folder: str, expected_name: str | None = None) -> Intake:
    """Vet one submission folder and choose its notebook; remember the result for grading.

    folder -- <submitted>/<student>/<assignment>
    returns: the Intake record
    """
    student, assignment = submission_of(folder)
    try:
        name, release = _release(assignment)
        record = vet_folder(folder, student, assignment)
        choose_notebook(record, expected_name or name, release)
    except Exception as error:  # noqa: BLE001 -- the exporter then refuses to grade this submission
        record = Intake(student, assignment, folder, notes=[f"intake failed: {one_line(error, 200)}"], failed=True)
    with _LOCK:
        _RECORDS[(student, assignment)] = record
    return record


def prepare_submission(assignment: str, student: str, notebooks: list[str]) -> None:
    """nbgrader's pre-convert hook: ``take_in`` the folder of this student's notebook path.

    nbgrader calls it once per submission, before it copies the folder, with the one path that
    IntakeExporter set; nbgrader logs and ignores any exception, so take_in never raises.
    """
    take_in(os.path.dirname(notebooks[0]), os.path.basename(notebooks[0]))


def finish_submission(assignment: str, student: str, notebooks: list[str]) -> None:
    """nbgrader's post-convert hook: ``forget`` a submission once nbgrader has written it (its
    grading report took intake's notes before), so that a long ``nbgrader autograde``, or a Jupyter
    server whose formgrader autogrades again and again, does not keep every student's laid-out notebook.

    As for the pre-convert hook, the submission is the folder of the one notebook path: nbgrader
    passes its --student and --assignment patterns ("*") as student and assignment.
    """
    forget(*submission_of(os.path.dirname(notebooks[0])))


class IntakeExporter(NotebookExporter):
    """nbgrader's notebook exporter for autograde, reading submissions through intake.

    Set as ``Autograde.exporter_class``. In the sanitize step, reading a submission's notebook path
    (<folder>/<release notebook name>, see ``preprocessors.prepare_batches``) gives the laid-out notebook,
    whether or not that file exists; every other path is read as nbconvert would.
    """

    def from_filename(self, filename, resources=None, **kw):
        if not nbgrader_adapter.sanitizing(self.parent):
            return super().from_filename(filename, resources=resources, **kw)
        folder = os.path.dirname(os.path.abspath(filename))
        key = submission_of(folder)
        with _LOCK:
            record = _RECORDS.get(key)
        if record is None or record.failed:
            raise RuntimeError(f"intake did not vet {folder}, so it is not graded: "
                               + "; ".join(record.notes if record else ["the pre-convert hook did not run"]))
        return self.from_notebook_node(notebook_to_grade(record), resources=resources, **kw)
