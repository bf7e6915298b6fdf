"""Build student submissions from short code files, for the sample class and the test corpus.

A submission file is Python with cells marked ``# %% <cell>``, where <cell> is the grade_id of a
solution cell (``gradient_check``) or the id of another editable cell
(``fix-backward-propagation-n``). Each marked block replaces that cell's source in the release
notebook. A line ``# base: solution`` fills every other solution cell with the master notebook's
solution (the default); ``# base: release`` leaves the stubs. A line
``# expect: gradient_check=3 gradient_check_n=20`` gives the expected per-exercise scores, and
unnamed exercises are expected at full marks (or 0 with ``# base: release``).

For robustness cases: a block ``# %% file:<path>`` writes that file into the submission folder,
a line ``# mutate: <what> [<argument>]`` changes the notebook's structure (``duplicate-cell``,
``delete-cell``, ``edit-cell`` with a cell name; ``rename`` with a file name; ``invalid-json``
with ``trailing`` or ``truncated``; ``extra-notebook``), and ``# expect-note:`` /
``# expect-kernel:`` give text the grading report must hold.

    python -m grader.submissions sample-class --course-root .
"""

import argparse
import copy
import dataclasses
import itertools
import os
import re
import shutil
from dataclasses import dataclass, field

import nbformat

from .course import ASSIGNMENT, EXERCISES, REPO_ROOT, max_scores, notebook_path

SAMPLE_CLASS_DIR = os.path.join(REPO_ROOT, "tests", "sample_class")
CORPUS_DIR = os.path.join(REPO_ROOT, "tests", "corpus")
ADVERSARIAL_DIR = os.path.join(REPO_ROOT, "tests", "adversarial")
SOLUTION_REGION = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.MULTILINE)
SUBMITTED_AT = "2026-11-20 17:00:00.000000 UTC"
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
    return release


def write_submission(submission, course_root, release_root=REPO_ROOT):
    """Write submitted/<name>/gradient_checking/ under course_root: the notebook and a timestamp.

    The helpers and figures are not written: autograde copies the master versions from source/.
    returns: the folder written
    """
    folder = os.path.dirname(notebook_path(course_root, "submitted", submission.name))
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    notebook = build_notebook(submission, release_root)
    name = f"{ASSIGNMENT}.ipynb"
    text = None
    for what, *argument in submission.mutations:
        cells = {_cell_name(cell): index for index, cell in enumerate(notebook.cells)}
        if what == "duplicate-cell":
            notebook.cells.insert(cells[argument[0]] + 1, copy.deepcopy(notebook.cells[cells[argument[0]]]))
        elif what == "delete-cell":
            del notebook.cells[cells[argument[0]]]
        elif what == "edit-cell":
            notebook.cells[cells[argument[0]]].source = "pass  # the tests were removed"
        elif what == "rename":
            name = argument[0]
        elif what == "extra-notebook":
            nbformat.write(notebook, os.path.join(folder, "scratch.ipynb"))
        elif what == "invalid-json":
            text = nbformat.writes(notebook)
            text = text + "\n}garbage" if argument == ["trailing"] else text[: len(text) // 2]
        else:
            raise ValueError(f"{submission.name}: unknown mutation {what!r}")
    with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
        handle.write(text if text is not None else nbformat.writes(notebook))
    for path, content in submission.files.items():
        os.makedirs(os.path.dirname(os.path.join(folder, path)), exist_ok=True)
        with open(os.path.join(folder, path), "w", encoding="utf-8") as handle:
            handle.write(content)
    with open(os.path.join(folder, "timestamp.txt"), "w", encoding="utf-8") as handle:
        handle.write(SUBMITTED_AT + "\n")
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
