"""Lay a student's cells onto the release's own skeleton: the notebook that is graded.

Whatever the student's editor did to the notebook (cells deleted, moved, duplicated, split, retyped,
nbgrader metadata or cell ids stripped or changed), the graded notebook has every cell of the release,
in the release's order, with the release's metadata:

- every read-only cell (locked, or a test) is the release's own; the student's copy never runs;
- every answer cell (an nbgrader solution cell, or an editable cell without nbgrader metadata) holds
  the student's answer, found by grade_id, then by cell id, then by the functions it defines
  (``def forward_propagation``); an answer not found leaves the release's stub;
- every other cell the student added runs too, in the student's order, after the cell that came
  before it in the student's notebook, without nbgrader metadata.

Nothing here reads files or runs code: ``lay_onto`` is a pure function, tested for every cell and
every kind of damage (tests/test_layout.py).
"""

import ast
import re
from dataclasses import dataclass, field

import nbformat

SAFE_ATTACHMENT_TYPES = ("image/png", "image/jpeg", "image/gif")
BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
MAX_ATTACHMENT_CHARS = 2_000_000


@dataclass
class StudentCell:
    """One cell as the student's file holds it, reduced to what grading may use.

    cell_type -- "code", "markdown" or "raw"
    source -- str, with line endings normalised to "\\n"
    nbgrader -- the cell's nbgrader metadata (dict; empty when stripped)
    cell_id -- the cell's id, or None
    attachments -- images attached to a markdown cell: dict name -> {mime: base64}
    """

    cell_type: str
    source: str
    nbgrader: dict = field(default_factory=dict)
    cell_id: str | None = None
    attachments: dict = field(default_factory=dict)


def student_cells(cells: list) -> list[StudentCell]:
    """StudentCells from the "cells" list of a parsed notebook, whatever their shape. returns: list"""
    found = []
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(part for part in source if isinstance(part, str))
        if not isinstance(source, str):
            source = ""
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        nbgrader = metadata.get("nbgrader") if isinstance(metadata.get("nbgrader"), dict) else {}
        cell_type = cell.get("cell_type") if cell.get("cell_type") in ("code", "markdown") else "raw"
        cell_id = cell.get("id") if isinstance(cell.get("id"), str) else None
        found.append(StudentCell(cell_type, source.replace("\r\n", "\n").replace("\r", "\n"), dict(nbgrader),
                                 cell_id, _safe_attachments(cell.get("attachments"))))
    return found


def _safe_attachments(attachments):
    """Only raster images, as base64 text of bounded size: nothing a browser would run."""
    kept = {}
    for name, bundle in (attachments or {}).items() if isinstance(attachments, dict) else []:
        if not isinstance(name, str) or not isinstance(bundle, dict):
            continue
        images = {mime: data for mime, data in bundle.items()
                  if mime in SAFE_ATTACHMENT_TYPES and isinstance(data, str)
                  and len(data) <= MAX_ATTACHMENT_CHARS and BASE64.match(data)}
        if images:
            kept[name] = images
    return kept


def defined_functions(source: str) -> set[str]:
    """Names of the functions a cell defines at its top level (a cell that does not parse: by regex)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set(re.findall(r"^def\s+([A-Za-z_]\w*)\s*\(", source, re.MULTILINE))
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _parsed_functions(source):
    """The functions a markdown or raw cell defines if its whole text is Python (a retyped code cell)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _normalised(source):
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def is_read_only(cell: nbformat.NotebookNode) -> bool:
    """A cell the student may not change: locked, or an autograded test."""
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("locked") or (meta.get("grade") and not meta.get("solution")))


def _label(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id") or cell.get("id") or "a cell"


class _Skeleton:
    """Indexes of the release notebook's cells, by each way a student cell can be recognised."""

    def __init__(self, release):
        self.cells = release.cells
        self.by_grade_id, self.by_id, self.by_function, self.by_content, self.stubs = {}, {}, {}, {}, {}
        for index, cell in enumerate(self.cells):
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id:
                self.by_grade_id.setdefault(grade_id, index)
            if cell.get("id"):
                self.by_id.setdefault(cell["id"], index)
            if is_read_only(cell):
                self.by_content.setdefault(_normalised(cell.source), index)
            else:
                self.stubs[index] = _normalised(cell.source)
                if cell.cell_type == "code":
                    for name in defined_functions(cell.source):
                        self.by_function.setdefault(name, index)

    def editable(self, index):
        return index in self.stubs

    def functions(self, index):
        return {name for name, at in self.by_function.items() if at == index}

    def match(self, cell):
        """Where a student cell belongs: (skeleton index, how) or (None, None) for a cell of their own."""
        grade_id = cell.nbgrader.get("grade_id")
        if isinstance(grade_id, str) and grade_id in self.by_grade_id:
            return self.by_grade_id[grade_id], "grade_id"
        if cell.cell_id in self.by_id:
            return self.by_id[cell.cell_id], "id"
        key = _normalised(cell.source)
        if key in self.by_content:
            return self.by_content[key], "content"
        functions = defined_functions(cell.source) if cell.cell_type == "code" else _parsed_functions(cell.source)
        targets = sorted(self.by_function[name] for name in functions if name in self.by_function)
        if targets:
            return targets[0], "function"
        return None, None


def lay_onto(release: nbformat.NotebookNode, cells: list[StudentCell]) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook to grade: the release's cells with the student's answers and own cells in place.

    release -- the release notebook (NotebookNode, nbformat 4), never changed
    cells -- the student's cells, list of StudentCell
    returns: (notebook, notes) -- a new NotebookNode and the list of what was done, for the report
    """
    skeleton = _Skeleton(release)
    matches = [skeleton.match(cell) for cell in cells]
    answers = _choose_answers(skeleton, cells, matches)
    extras, copies, duplicates = {}, {}, []  # extras: skeleton index (-1: before all) -> own cells after it
    position = -1
    for number, (cell, (index, _)) in enumerate(zip(cells, matches)):
        if index is None:
            extras.setdefault(position, []).append(cell)
        elif not skeleton.editable(index):
            copies.setdefault(index, []).append(cell)
            position = index
        elif answers.get(index) == number:
            position = index
        elif _normalised(cell.source) != skeleton.stubs[index]:  # an untouched stub adds nothing
            duplicates.append(_label(skeleton.cells[index]))
            extras.setdefault(position, []).append(cell)

    notes = []
    notebook = nbformat.v4.new_notebook(metadata=release.metadata)
    notebook.nbformat, notebook.nbformat_minor = release.nbformat, release.nbformat_minor
    defined = set()  # functions defined so far by the student's cells
    own_cells = 0

    def add_own_cells(at):
        nonlocal own_cells
        for cell in extras.get(at, []):
            own_cells += 1
            notebook.cells.append(_own_cell(cell, f"student-cell-{own_cells}"))
            if cell.cell_type == "code":
                defined.update(defined_functions(cell.source))

    add_own_cells(-1)
    for index, template in enumerate(skeleton.cells):
        cell = nbformat.from_dict(template)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if skeleton.editable(index):
            answer = cells[answers[index]] if index in answers else None
            functions = skeleton.functions(index)
            if answer is not None:
                cell.source = answer.source
                if answer.cell_type != template.cell_type:
                    notes.append(f"{_label(template)} was a {answer.cell_type} cell; it was graded as {template.cell_type}")
            elif template.cell_type == "code" and functions and functions <= defined:
                cell.source = f"# {', '.join(sorted(functions))}: defined in an earlier cell of yours"
            elif cell.metadata.get("nbgrader", {}).get("solution"):
                notes.append(f"no answer for {_label(template)} was found; it was graded as unanswered")
            if cell.cell_type == "code":
                defined.update(defined_functions(cell.source))
        notebook.cells.append(cell)
        add_own_cells(index)

    notes += _read_only_notes(skeleton, copies)
    if duplicates:
        notes.append("cells that appear more than once were graded once, and the other copies ran as your own "
                     f"cells: {', '.join(sorted(set(duplicates)))}")
    if cells and not any(cell.nbgrader for cell in cells):
        notes.append("the notebook had no nbgrader metadata (an editor may have removed it); its cells were "
                     "recognised by the functions they define and by their content")
    return notebook, notes


def _choose_answers(skeleton, cells, matches):
    """For each answer cell of the skeleton, the student cell that answers it: the first recognised
    by grade_id, else by cell id, else by the functions it defines; a copy of the untouched stub
    answers only when nothing else does. returns: dict skeleton index -> position in cells"""
    strength = {"grade_id": 0, "id": 1, "function": 2}
    best = {}
    for number, (cell, (index, how)) in enumerate(zip(cells, matches)):
        if index is None or not skeleton.editable(index):
            continue
        rank = (_normalised(cell.source) == skeleton.stubs[index], strength[how], number)
        if index not in best or rank < best[index]:
            best[index] = rank
    return {index: rank[2] for index, rank in best.items()}


def _own_cell(cell, cell_id):
    """A cell the student added, as a new cell without nbgrader metadata."""
    if cell.cell_type == "code":
        return nbformat.v4.new_code_cell(cell.source, id=cell_id)
    if cell.cell_type == "markdown":
        made = nbformat.v4.new_markdown_cell(cell.source, id=cell_id)
        if cell.attachments:
            made.attachments = cell.attachments
        return made
    return nbformat.v4.new_raw_cell(cell.source, id=cell_id)


def _read_only_notes(skeleton, seen):
    """What the student did to read-only code cells (each was replaced by the release's own)."""
    missing, edited = [], []
    for index, template in enumerate(skeleton.cells):
        if template.cell_type != "code" or skeleton.editable(index):
            continue
        copies = seen.get(index, [])
        if not copies:
            missing.append(_label(template))
        elif any(_normalised(copy.source) != _normalised(template.source) for copy in copies):
            edited.append(_label(template))
    notes = []
    if missing:
        notes.append(f"read-only cells that were missing were restored: {', '.join(missing)}")
    if edited:
        notes.append(f"read-only cells that were edited were restored: {', '.join(edited)}")
    return notes
