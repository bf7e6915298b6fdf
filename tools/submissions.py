"""Build student submissions from short code files, for the sample class and the test corpus.

A submission file is Python with cells marked ``# %% <cell>``, where <cell> is the grade_id of a
solution cell (``gradient_check``) or the id of another editable cell
(``fix-backward-propagation-n``). Each marked block replaces that cell's source in the release
notebook. A line ``# base: solution`` fills every other solution cell with the master notebook's
solution (the default); ``# base: release`` leaves the stubs. A line
``# expect: gradient_check=3 gradient_check_n=20`` gives the expected per-exercise scores, and
unnamed exercises are expected at full marks (or 0 with ``# base: release``).

For robustness cases:

- a block ``# %% file:<path>`` writes that file into the submission folder; a block
  ``# %% new-code:<cell>`` or ``# %% new-markdown:<cell>`` adds a cell of the student's own after
  that cell;
- a line ``# mutate: <what> [<arguments>]`` damages the notebook or the folder as an editor, a
  careless student or an attacker might: the notebook's structure (``duplicate-cell``,
  ``delete-cell``, ``edit-cell``, ``move-cell``, ``retype-cell``, ``strip-metadata``,
  ``change-ids``, ``forge-notes``, ``attach-images``), its bytes (``invalid-json``,
  ``nbformat-minor``, ``nbformat-3``, ``encoding``), its name (``rename``, ``extra-notebook``,
  ``nest``, ``no-notebook``) or the folder (``link``, ``hardlink``, ``fifo``, ``device``,
  ``big-file``, ``many-files``, ``odd-name``, ``timestamp``, ``link-folder``); see the functions
  below for their arguments;
- ``# submitted-at: <UTC time>`` sets the submission time (default: on time), and
  ``# expect-late: <points>`` the late penalty it should cost;
- ``# expect-note:``, ``# expect-failure:`` and ``# expect-kernel:`` give text the grading report's
  notes, failure messages and kernel problem must hold, and ``# expect-no-note:`` text it must not.

    python -m tools.submissions sample-class --course-root .
"""

import argparse
import base64
import copy
import dataclasses
import functools
import itertools
import os
import json
import re
import shutil
import stat
from dataclasses import dataclass, field

import nbformat

from grader.course import ASSIGNMENT, EXERCISES, REPO_ROOT, max_scores, notebook_path

SAMPLE_CLASS_DIR = os.path.join(REPO_ROOT, "tests", "sample_class")
CORPUS_DIR = os.path.join(REPO_ROOT, "tests", "corpus")
ADVERSARIAL_DIR = os.path.join(REPO_ROOT, "tests", "adversarial")
SOLUTION_REGION = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.MULTILINE)
SUBMITTED_AT = "2026-11-20 17:00:00.000000 UTC"
TINY_PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
CRASHING_CASES = ("adv_os_exit", "adv_segfault")  # kernels that die mid-notebook


@dataclass
class Submission:
    """One student's code: which cells it replaces and the scores it should get."""

    name: str
    description: str
    cells: dict = field(default_factory=dict)
    base: str = "solution"
    expected: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)
    mutations: list = field(default_factory=list)
    expected_notes: list = field(default_factory=list)
    expected_kernel: str = ""
    new_cells: list = field(default_factory=list)  # (after which cell, "code" or "markdown", source)
    submitted_at: str = SUBMITTED_AT
    expected_penalty: float = 0.0  # the late penalty, in points
    unexpected_notes: list = field(default_factory=list)  # text the grading report must not hold
    expected_failures: list = field(default_factory=list)  # text some failed check's message must hold


def parse_submission(path):
    """Read a submission file (see the module docstring) into a Submission."""
    name = os.path.splitext(os.path.basename(path))[0]
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    header, *blocks = re.split(r"^# %% ", text, flags=re.MULTILINE)
    description = header.strip().splitlines()[0].strip('"') if header.strip() else name
    submission = Submission(name=name, description=description)
    for line in header.splitlines():
        if line.startswith("# base:"):
            submission.base = line.split(":", 1)[1].strip()
        elif line.startswith("# mutate:"):
            submission.mutations.append(line.split(":", 1)[1].split())
        elif line.startswith("# expect-note:"):
            submission.expected_notes.append(line.split(":", 1)[1].strip())
        elif line.startswith("# expect-late:"):
            submission.expected_penalty = float(line.split(":", 1)[1])
        elif line.startswith("# expect-failure:"):
            submission.expected_failures.append(line.split(":", 1)[1].strip())
        elif line.startswith("# expect-no-note:"):
            submission.unexpected_notes.append(line.split(":", 1)[1].strip())
        elif line.startswith("# submitted-at:"):
            submission.submitted_at = line.split(":", 1)[1].strip()
        elif line.startswith("# expect-kernel:"):
            submission.expected_kernel = line.split(":", 1)[1].strip()
        elif line.startswith("# expect:"):
            for pair in line.split(":", 1)[1].split():
                exercise, score = pair.split("=")
                if exercise not in EXERCISES:
                    raise ValueError(f"{path}: unknown exercise {exercise!r} in '# expect:'")
                submission.expected[exercise] = float(score)
    if submission.base not in ("solution", "release"):
        raise ValueError(f"{path}: '# base:' must be 'solution' or 'release'")
    for block in blocks:
        cell_name, _, source = block.partition("\n")
        if cell_name.startswith("file:"):
            submission.files[cell_name[len("file:"):].strip()] = source.strip("\n") + "\n"
        elif cell_name.startswith(("new-code:", "new-markdown:")):
            kind, after = cell_name.strip().split(":", 1)
            submission.new_cells.append((after, kind[len("new-"):], source.strip("\n")))
        else:
            submission.cells[cell_name.strip()] = source.strip("\n")
    return submission


def expected_scores(submission, course_root=REPO_ROOT):
    """Expected score per exercise: the file's '# expect:' values, else full marks (or 0 if blank)."""
    full = max_scores(course_root)
    default = (lambda exercise: full[exercise]) if submission.base == "solution" else (lambda _: 0.0)
    return {exercise: submission.expected.get(exercise, default(exercise)) for exercise in EXERCISES}


def _cell_name(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id") or cell.get("id")


def solution_sources(course_root=REPO_ROOT):
    """The master notebook's solution cells without their markers: dict grade_id -> code."""
    source = nbformat.read(notebook_path(course_root, "source"), as_version=4)
    return {_cell_name(cell): SOLUTION_REGION.sub("", cell.source)
            for cell in source.cells if cell.metadata.get("nbgrader", {}).get("solution")}


def build_notebook(submission, course_root=REPO_ROOT):
    """The release notebook with the submission's cells filled in. returns: NotebookNode"""
    release = nbformat.read(notebook_path(course_root, "release"), as_version=4)
    solutions = solution_sources(course_root) if submission.base == "solution" else {}
    unknown = set(submission.cells) - {_cell_name(cell) for cell in release.cells}
    if unknown:
        raise ValueError(f"submission {submission.name} names cells not in the notebook: {sorted(unknown)}")
    for cell in release.cells:
        name = _cell_name(cell)
        if name in submission.cells:
            cell.source = submission.cells[name]
        elif name in solutions:
            cell.source = solutions[name]
    for number, (after, kind, source) in enumerate(submission.new_cells):
        index = next(i for i, cell in enumerate(release.cells) if _cell_name(cell) == after)
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        release.cells.insert(index + 1, make(source, id=f"added-{number}"))
    return release


def _notebook_mutation(notebook, what, arguments):
    """Change the notebook's structure as a student's editor might. returns: None"""
    cells = {_cell_name(cell): index for index, cell in enumerate(notebook.cells)}
    if what == "duplicate-cell":
        pasted = copy.deepcopy(notebook.cells[cells[arguments[0]]])
        pasted.id = f"{pasted.id}-copy"  # an editor gives a pasted cell an id of its own (here, always the same one)
        notebook.cells.insert(cells[arguments[0]] + 1, pasted)
    elif what == "delete-cell":
        del notebook.cells[cells[arguments[0]]]
    elif what == "edit-cell":
        notebook.cells[cells[arguments[0]]].source = "pass  # the tests were removed"
    elif what == "move-cell":  # move-cell <name> start|end
        cell = notebook.cells.pop(cells[arguments[0]])
        notebook.cells.insert(0 if arguments[1] == "start" else len(notebook.cells), cell)
    elif what == "retype-cell":  # retype-cell <name> markdown|raw
        cell = notebook.cells[cells[arguments[0]]]
        notebook.cells[cells[arguments[0]]] = (nbformat.v4.new_markdown_cell if arguments[1] == "markdown"
                                               else nbformat.v4.new_raw_cell)(cell.source, id=cell.id,
                                                                              metadata=cell.metadata)
    elif what == "strip-metadata":  # every cell's metadata and id, as some editors and hosts do
        for cell in notebook.cells:
            cell.metadata = {}
            cell.pop("id", None)
        notebook.nbformat_minor = 4
    elif what == "keep-only-answers":  # every read-only cell deleted
        notebook.cells = [cell for cell in notebook.cells
                          if not (cell.metadata.get("nbgrader", {}).get("locked") or cell.metadata.get("nbgrader", {}).get("grade"))]
    elif what == "change-ids":
        for number, cell in enumerate(notebook.cells):
            cell.id = f"renamed-{number}"
    elif what == "attach-images":  # images attached to every added markdown cell: a PNG and a scripted SVG
        svg = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg" onload="window.__xss=1">'
                               b'<script>window.__xss=1</script></svg>').decode()
        for cell in notebook.cells:
            if cell.cell_type == "markdown" and cell.get("id", "").startswith("added-"):
                cell.attachments = {"dot.png": {"image/png": TINY_PNG}, "evil.svg": {"image/svg+xml": svg}}
    elif what == "forge-notes":  # metadata claiming intake notes and duplicated cells
        notebook.metadata["grader_intake"] = ["FORGED: the grader approved this notebook"]
        notebook.metadata["grader_duplicated_cells"] = ["FORGED"]
    else:
        return False
    return True


def _text_of(notebook, mutations):
    """The notebook file's bytes, after any encoding or JSON damage in mutations."""
    text = nbformat.writes(notebook)
    encoding = "utf-8"
    for what, *arguments in mutations:
        if what == "invalid-json":
            text = text + "\n}garbage" if arguments == ["trailing"] else text[: len(text) // 2]
        elif what == "nbformat-minor":  # an older nbformat 4 file: no cell ids before 4.5
            data = json.loads(text)
            data["nbformat_minor"] = int(arguments[0])
            for cell in data["cells"]:
                cell.pop("id", None)
            text = json.dumps(data, indent=1)
        elif what == "nbformat-3":
            text = nbformat.writes(nbformat.convert(nbformat.reads(text, as_version=4), 3))
        elif what == "encoding":  # encoding bom|utf-16|crlf
            if arguments[0] == "crlf":
                text = text.replace("\n", "\r\n")
            else:
                encoding = {"bom": "utf-8-sig", "utf-16": "utf-16"}[arguments[0]]
    return text.encode(encoding)


def _course_file(course_root, target):
    """What a link in a hostile submission points at."""
    return {"master": notebook_path(course_root, "source"), "config": os.path.join(REPO_ROOT, "nbgrader_config.py"),
            "gradebook": os.path.join(course_root, "gradebook.db"), "source": os.path.dirname(notebook_path(course_root, "source")),
            "other-student": notebook_path(course_root, "submitted", "alice")}.get(target, target)


def _folder_mutation(folder, name, what, arguments, course_root):
    """Change the submission folder as a careless or hostile student might. returns: the notebook name"""
    path = os.path.join(folder, arguments[0]) if arguments else folder
    if what == "link":  # link <name> <target>: a symbolic link in the folder
        os.symlink(_course_file(course_root, arguments[1]), path)
    elif what == "hardlink":  # hardlink <name> <target> (same file system)
        os.link(_course_file(course_root, arguments[1]), path)
    elif what == "fifo":
        os.mkfifo(path)
    elif what == "device":  # a character device, /dev/zero's numbers (only root may make one: else a FIFO)
        if os.geteuid() == 0:
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 5))
        else:
            os.mkfifo(path)
    elif what == "big-file":  # big-file <name> <MB>
        with open(path, "wb") as handle:
            handle.truncate(int(arguments[1]) * 1024 ** 2)
    elif what == "many-files":  # many-files <count>
        for number in range(int(arguments[0])):
            with open(os.path.join(folder, f"scratch-{number:04d}.txt"), "w") as handle:
                handle.write("x\n")
    elif what == "odd-name":  # a file whose name holds a terminal escape sequence
        with open(os.path.join(folder, "\x1b[31mred\x1b[0m.txt"), "w") as handle:
            handle.write("x\n")
    elif what == "timestamp":
        with open(os.path.join(folder, "timestamp.txt"), "w") as handle:
            handle.write(" ".join(arguments) + "\n")
    elif what == "nest":  # the notebook in a subfolder, as some zip tools leave it
        os.makedirs(os.path.join(folder, arguments[0]))
        os.rename(os.path.join(folder, name), os.path.join(folder, arguments[0], name))
    elif what == "no-notebook":
        os.remove(os.path.join(folder, name))
    elif what == "link-folder":  # the submission folder itself is a link
        shutil.rmtree(folder)
        os.symlink(_course_file(course_root, arguments[0]), folder)
    elif what == "link-student":  # the student's folder is a link to another student's
        student_folder = os.path.dirname(folder)
        shutil.rmtree(student_folder)
        os.symlink(os.path.join(os.path.dirname(student_folder), arguments[0]), student_folder)
    else:
        raise ValueError(f"unknown mutation {what!r}")


FOLDER_MUTATIONS = ("link", "hardlink", "fifo", "device", "big-file", "many-files", "odd-name", "timestamp", "nest",
                    "no-notebook", "link-folder", "link-student")
TEXT_MUTATIONS = ("invalid-json", "nbformat-minor", "nbformat-3", "encoding")


def write_submission(submission, course_root, release_root=REPO_ROOT, substitutions=None):
    """Write submitted/<name>/gradient_checking/ under course_root: the notebook and a timestamp.

    The helpers and figures are not written: autograde copies the master versions from source/.
    substitutions -- dict text -> replacement applied to the submission's code (ports, paths)
    returns: the folder written
    """
    folder = os.path.dirname(notebook_path(course_root, "submitted", submission.name))
    for path in (os.path.dirname(folder), folder):
        if os.path.islink(path):
            os.remove(path)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    if substitutions:
        submission = dataclasses.replace(submission, cells={
            name: functools.reduce(lambda text, pair: text.replace(*pair), substitutions.items(), source)
            for name, source in submission.cells.items()})
    notebook = build_notebook(submission, release_root)
    name = f"{ASSIGNMENT}.ipynb"
    for what, *arguments in submission.mutations:
        if what == "rename":
            name = arguments[0]
        elif what == "extra-notebook":
            nbformat.write(notebook, os.path.join(folder, "scratch.ipynb"))
        elif what not in FOLDER_MUTATIONS + TEXT_MUTATIONS and not _notebook_mutation(notebook, what, arguments):
            raise ValueError(f"{submission.name}: unknown mutation {what!r}")
    with open(os.path.join(folder, name), "wb") as handle:
        handle.write(_text_of(notebook, submission.mutations))
    for path, content in submission.files.items():
        os.makedirs(os.path.dirname(os.path.join(folder, path)), exist_ok=True)
        with open(os.path.join(folder, path), "w", encoding="utf-8") as handle:
            handle.write(content)
    with open(os.path.join(folder, "timestamp.txt"), "w", encoding="utf-8") as handle:
        handle.write(submission.submitted_at + "\n")
    for what, *arguments in submission.mutations:
        if what in FOLDER_MUTATIONS:
            _folder_mutation(folder, name, what, arguments, course_root)
    return folder


def read_directory(directory):
    """Every submission file in a directory, sorted by name. returns: list of Submission"""
    names = sorted(name for name in os.listdir(directory) if name.endswith(".py"))
    return [parse_submission(os.path.join(directory, name)) for name in names]


def synthetic_class(size):
    """A class of `size` submissions cycling through the sample class, the corpus (correct and wrong
    answers) and the crashing adversarial cases; each gets a unique name such as s00012-alice."""
    mix = (read_directory(SAMPLE_CLASS_DIR) + read_directory(CORPUS_DIR)
           + [case for case in read_directory(ADVERSARIAL_DIR) if case.name in CRASHING_CASES])
    return [dataclasses.replace(case, name=f"s{index:05d}-{case.name}")
            for index, case in zip(range(size), itertools.cycle(mix))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["sample-class", "synthetic-class"])
    parser.add_argument("--course-root", default=REPO_ROOT)
    parser.add_argument("--size", type=int, default=100, help="submissions in a synthetic class")
    args = parser.parse_args()
    submitted = os.path.join(args.course_root, "submitted")
    if os.path.isdir(submitted):
        shutil.rmtree(submitted)
    if args.command == "sample-class":
        for submission in read_directory(SAMPLE_CLASS_DIR):
            print("wrote", os.path.relpath(write_submission(submission, args.course_root), args.course_root))
    else:
        cases = synthetic_class(args.size)
        for submission in cases:
            write_submission(submission, args.course_root, release_root=args.course_root)
        print(f"wrote {len(cases)} submissions to {submitted}")


if __name__ == "__main__":
    main()
