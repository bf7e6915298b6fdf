"""Structure-proof intake, for every cell and every kind of damage (grader/layout.py, grader/intake.py).

The correct submission (the release with the master's answers) is damaged one cell at a time, in
every way an editor, a notebook host or a careless student damages notebooks, and then in its
bytes. Laid onto the release, each must give the same graded notebook as the undamaged one, unless
the damage removed the student's own answer; every change is explained in a note.
"""

import copy
import json

import nbformat
import pytest

from grader import intake, layout
from grader.course import notebook_path
from tools.submissions import build_notebook, Submission

from conftest import REPO_ROOT

RELEASE = nbformat.read(notebook_path(REPO_ROOT, "release"), as_version=4)
CORRECT = json.loads(nbformat.writes(build_notebook(Submission("correct", "every answer right"))))
ANSWER_IDS = {cell["id"] for cell in RELEASE.cells if not layout.is_read_only(cell)}
SOLUTION_IDS = {cell["id"] for cell in RELEASE.cells if cell.metadata.get("nbgrader", {}).get("solution")}
CELL_IDS = [cell["id"] for cell in CORRECT["cells"]]


def graded(cells_json):
    """What grading runs: (type, source) of every cell, and the notes."""
    notebook, notes = layout.lay_onto(RELEASE, layout.student_cells(cells_json))
    return [(cell.cell_type, cell.source) for cell in notebook.cells], notes, notebook


BASELINE, BASELINE_NOTES, BASELINE_NOTEBOOK = graded(CORRECT["cells"])


def test_an_undamaged_submission_is_graded_as_it_is():
    assert BASELINE == [(cell["cell_type"], "".join(cell["source"])) for cell in CORRECT["cells"]]
    assert BASELINE_NOTES == []
    for made, release in zip(BASELINE_NOTEBOOK.cells, RELEASE.cells):
        assert made.metadata == release.metadata and made.get("id") == release.get("id")


def damaged(index, how):
    """The correct notebook's cells with cell `index` damaged `how`."""
    cells = copy.deepcopy(CORRECT["cells"])
    cell = cells[index]
    if how == "deleted":
        del cells[index]
    elif how == "moved to the end":
        cells.append(cells.pop(index))
    elif how == "moved to the start":
        cells.insert(0, cells.pop(index))
    elif how == "duplicated":
        cells.insert(index + 1, copy.deepcopy(cell))
    elif how == "retyped":
        cell["cell_type"] = "markdown" if cell["cell_type"] == "code" else "raw"
        cell.pop("outputs", None), cell.pop("execution_count", None)
    elif how == "metadata stripped":
        cell["metadata"] = {}
    elif how == "retyped and stripped":
        cell["cell_type"] = "markdown" if cell["cell_type"] == "code" else "raw"
        cell.pop("outputs", None), cell.pop("execution_count", None)
        cell["metadata"] = {}
        cell.pop("id")
    elif how == "id changed":
        cell["id"] = "something-else"
    elif how == "id and metadata stripped":
        cell["metadata"] = {}
        cell.pop("id")
    elif how == "split in two":
        lines = "".join(cell["source"]).splitlines(keepends=True)
        cells.insert(index + 1, {**copy.deepcopy(cell), "source": lines[len(lines) // 2:]})
        cell["source"] = lines[: len(lines) // 2]
    return cells


DAMAGE = ["deleted", "moved to the end", "moved to the start", "duplicated", "retyped", "metadata stripped",
          "retyped and stripped", "id changed", "id and metadata stripped"]


@pytest.mark.parametrize("how", DAMAGE)
@pytest.mark.parametrize("index", range(len(CELL_IDS)), ids=CELL_IDS)
def test_every_cell_damaged_every_way_is_graded_on_its_merits(index, how):
    cell_id = CELL_IDS[index]
    result, notes, notebook = graded(damaged(index, how))
    lost_answer = how == "deleted" and cell_id in ANSWER_IDS
    own = [cell for cell in notebook.cells if cell.get("id", "").startswith("student-cell-")]
    skeleton = [(cell.cell_type, cell.source) for cell in notebook.cells if not cell.get("id", "").startswith("student-cell-")]
    assert len(skeleton) == len(RELEASE.cells)
    assert all(made.metadata == release.metadata for made, release in
               zip([c for c in notebook.cells if not c.get("id", "").startswith("student-cell-")], RELEASE.cells))
    if lost_answer:  # the student's answer is gone: that cell is the release's again, nothing else changed
        changed = [RELEASE.cells[i]["id"] for i, (a, b) in enumerate(zip(skeleton, BASELINE)) if a != b]
        answered = BASELINE[index][1] != RELEASE.cells[index].source
        assert changed == ([cell_id] if answered else [])
        assert skeleton[index][1] == RELEASE.cells[index].source
        if cell_id in SOLUTION_IDS:
            assert any("no answer" in note for note in notes), notes
        return
    assert skeleton == BASELINE, f"{cell_id} {how}"
    answered = cell_id in ANSWER_IDS and BASELINE[index][1] != RELEASE.cells[index].source
    if how == "duplicated" and answered:  # the copy runs too, as the student's own cell (an untouched stub need not)
        assert [cell.source for cell in own] == [BASELINE[index][1]] and notes
    else:
        assert own == []
    if how == "deleted" and RELEASE.cells[index].cell_type == "code":
        assert any("missing were restored" in note and cell_id.replace("-", "_") in note.replace("-", "_")
                   for note in notes), notes


@pytest.mark.parametrize("index", [i for i, cell_id in enumerate(CELL_IDS) if cell_id in ANSWER_IDS],
                         ids=[cell_id for cell_id in CELL_IDS if cell_id in ANSWER_IDS])
def test_an_answer_split_in_two_cells_runs_whole(index):
    result, notes, notebook = graded(damaged(index, "split in two"))
    source = "".join(cell.source for cell in notebook.cells
                     if cell.get("id") == CELL_IDS[index] or cell.get("id", "").startswith("student-cell-"))
    assert source.replace("\n", "") == BASELINE[index][1].replace("\n", "")


def test_a_notebook_stripped_of_all_metadata_and_ids_and_reversed_is_graded_whole():
    cells = copy.deepcopy(CORRECT["cells"])
    for cell in cells:
        cell["metadata"] = {}
        cell.pop("id")
    result, notes, _ = graded(list(reversed(cells)))
    assert result == BASELINE
    assert any("no nbgrader metadata" in note for note in notes)


def test_only_the_answers_kept_is_enough():
    cells = [cell for cell in CORRECT["cells"] if cell["id"] in ANSWER_IDS]
    for cell in cells:
        cell["metadata"] = {}
    result, notes, _ = graded(cells)
    assert result == BASELINE
    assert any("missing were restored" in note for note in notes)


def test_answers_written_in_new_cells_after_untouched_stubs_are_the_answers():
    cells = json.loads(nbformat.writes(RELEASE))["cells"]
    answers = {cell["id"]: cell for cell in CORRECT["cells"]}
    for position in reversed(range(len(cells))):
        if cells[position]["id"] in SOLUTION_IDS:
            new = {**copy.deepcopy(answers[cells[position]["id"]]), "metadata": {}, "id": f"new-{position}"}
            cells.insert(position + 1, new)
    result, _, _ = graded(cells)
    assert [source for (_, source) in result] == [source for (_, source) in BASELINE]


def test_a_cell_defining_two_answers_answers_both():
    cells = copy.deepcopy(CORRECT["cells"])
    forward = next(cell for cell in cells if cell["id"] == "forward-propagation")
    backward = next(cell for cell in cells if cell["id"] == "backward-propagation")
    forward["source"] = "".join(forward["source"]) + "\n\n" + "".join(backward["source"])
    cells.remove(backward)
    result, notes, notebook = graded(cells)
    stub = next(cell for cell in notebook.cells if cell.get("id") == "backward-propagation")
    assert "defined in an earlier cell" in stub.source and "raise NotImplementedError" not in stub.source


def test_forged_metadata_never_reaches_the_notes():
    cells = copy.deepcopy(CORRECT["cells"])
    for cell in cells:
        cell["metadata"]["grader_intake"] = ["FORGED"]
    _, notes, notebook = graded(cells)
    assert "FORGED" not in json.dumps(notes) and "FORGED" not in nbformat.writes(notebook)


def test_attachments_keep_only_raster_images():
    cell = {"cell_type": "markdown", "source": "![](attachment:a.png) ![](attachment:b.svg)", "metadata": {},
            "attachments": {"a.png": {"image/png": "iVBORw0KGgo="}, "b.svg": {"image/svg+xml": "PHN2Zz4="},
                            "c.png": {"image/png": "not base64 \" onerror=alert(1)"}}}
    student = layout.student_cells([cell])[0]
    assert student.attachments == {"a.png": {"image/png": "iVBORw0KGgo="}}


# ---------------------------------------------------------------- the notebook's bytes

def as_bytes(how):
    text = json.dumps(CORRECT, indent=1)
    if how == "utf-8 with a byte-order mark":
        return text.encode("utf-8-sig")
    if how == "utf-16":
        return text.encode("utf-16")
    if how == "utf-16 without a byte-order mark":
        return text.encode("utf-16-le")
    if how == "crlf line endings":
        return text.replace("\n", "\r\n").encode()
    if how == "crlf inside the sources too":
        data = copy.deepcopy(CORRECT)
        for cell in data["cells"]:
            cell["source"] = "".join(cell["source"]).replace("\n", "\r\n")
        return json.dumps(data).encode()
    if how == "trailing garbage":
        return (text + "\n}}garbage").encode()
    if how == "leading garbage":
        return ("garbage{" + text).encode()
    if how.startswith("nbformat 4."):
        data = copy.deepcopy(CORRECT)
        data["nbformat_minor"] = int(how[-1])
        for cell in data["cells"]:
            cell.pop("id")
        return json.dumps(data).encode()
    if how == "nbformat 3":
        return nbformat.writes(nbformat.convert(nbformat.reads(json.dumps(CORRECT), as_version=4), 3)).encode()
    if how == "sources as single strings":
        return json.dumps(CORRECT).encode()
    if how == "latin-1 bytes in a comment":
        return text.replace("forward_propagation(x, theta):", "forward_propagation(x, theta):  # caf\\u00e9").encode()
    raise ValueError(how)


BYTES = ["utf-8 with a byte-order mark", "utf-16", "utf-16 without a byte-order mark", "crlf line endings",
         "crlf inside the sources too", "trailing garbage", "leading garbage", "nbformat 4.0", "nbformat 4.1",
         "nbformat 4.2", "nbformat 4.3", "nbformat 4.4", "nbformat 3", "sources as single strings",
         "latin-1 bytes in a comment"]


@pytest.mark.parametrize("how", BYTES)
def test_every_encoding_quirk_reads_as_the_same_notebook(how, tmp_path):
    path = tmp_path / "gradient_checking.ipynb"
    path.write_bytes(as_bytes(how))
    cells, notes = intake.read_cells(str(path))
    assert cells is not None, notes
    notebook, _ = layout.lay_onto(RELEASE, cells)
    assert [(cell.cell_type, cell.source.replace("  # café", "")) for cell in notebook.cells] == BASELINE, how


def test_a_notebook_cut_off_keeps_every_whole_cell_before_the_cut(tmp_path):
    text = json.dumps(CORRECT, indent=1)
    for fraction in (0.3, 0.5, 0.8):
        path = tmp_path / f"cut-{fraction}.ipynb"
        path.write_text(text[: int(len(text) * fraction)])
        cells, notes = intake.read_cells(str(path))
        assert cells and any("first" in note for note in notes)
        assert [cell.source for cell in cells] == ["".join(cell["source"]) for cell in CORRECT["cells"][: len(cells)]]


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02", b"[1, 2, 3]", b'{"cells": 5}', b"not json at all",
                                     b"{" * 100_000, b'{"cells": [' + b"[" * 50_000])
def test_unreadable_notebooks_are_graded_as_blank_with_a_reason_and_never_crash(content, tmp_path):
    path = tmp_path / "gradient_checking.ipynb"
    path.write_bytes(content)
    cells, notes = intake.read_cells(str(path))
    assert not cells and notes
