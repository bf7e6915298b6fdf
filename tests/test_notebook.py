"""The master notebook, its release, and the claims its text makes."""

import filecmp
import os
import re
import shutil
import subprocess

import nbformat
import numpy as np
from nbclient import NotebookClient

from conftest import BIN, REPO_ROOT
from grader.course import EXERCISES, graded_cells, max_scores, notebook_path
from tools.submissions import build_notebook, read_directory, SAMPLE_CLASS_DIR
from grader.reference import correct_gradients
from helpers import fixtures, network
from reference_checker import gradient_check_n

SOURCE = nbformat.read(notebook_path(REPO_ROOT, "source"), as_version=4)
RELEASE = nbformat.read(notebook_path(REPO_ROOT, "release"), as_version=4)


def nbgrader_validate(path, *flags):
    env = {**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"]}
    result = subprocess.run([os.path.join(BIN, "nbgrader"), "validate", *flags, path],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    return result.stdout + result.stderr


def cell_by_id(notebook, cell_id):
    return next(cell for cell in notebook.cells if cell.get("id") == cell_id)


def test_source_passes_all_its_tests():
    """nbgrader validate exits 0 even on failure (#1908), so its output is what counts."""
    output = nbgrader_validate(notebook_path(REPO_ROOT, "source"))
    assert "Success! Your notebook passes all the tests." in output, output[-3000:]


def test_release_fails_all_its_tests():
    output = nbgrader_validate(notebook_path(REPO_ROOT, "release"), "--invert")
    assert "Success! The notebook does not pass any tests." in output, output[-3000:]


def test_committed_release_equals_a_fresh_generation():
    from conftest import _template_course
    fresh = os.path.join(_template_course(), "release")
    committed = os.path.join(REPO_ROOT, "release")
    comparison = filecmp.dircmp(committed, fresh, ignore=["__pycache__"])

    def differences(cmp):
        found = cmp.left_only + cmp.right_only + cmp.diff_files + cmp.funny_files
        return found + [name for sub in cmp.subdirs.values() for name in differences(sub)]

    assert not differences(comparison), "release/ is stale: run `make release` and commit it"
    for directory, _, files in os.walk(committed):
        for name in files:
            path = os.path.join(directory, name)
            fresh_path = os.path.join(fresh, os.path.relpath(path, committed))
            assert filecmp.cmp(path, fresh_path, shallow=False), f"{path} is stale: run `make release`"


def test_committed_sample_class_is_built_from_the_current_release(tmp_path):
    for case in read_directory(SAMPLE_CLASS_DIR):
        expected = build_notebook(case)
        committed = nbformat.read(notebook_path(REPO_ROOT, "submitted", case.name), as_version=4)
        assert committed == expected, f"submitted/{case.name} is stale: run `make sample-class`"


def test_the_release_holds_no_correct_backward_pass():
    """Finding the planted bugs takes gradient checking, not a diff against a correct copy."""
    body = "gradients[f\"db{layer}\"] = 1.0 / m * np.sum(dZ, axis=1, keepdims=True)"
    relu = "np.int64(A_prev > 0)"
    for directory, _, files in os.walk(os.path.join(REPO_ROOT, "release")):
        for name in files:
            with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as handle:
                text = handle.read()
            assert body not in text and relu not in text, f"{name} holds the correct backward pass"
    with open(os.path.join(REPO_ROOT, "grader", "reference.py"), encoding="utf-8") as handle:
        reference = handle.read()
    assert body in reference and relu in reference  # the probe matches the real answer key


def test_release_holds_no_solution_hidden_test_or_reference():
    solution_lines = {
        line.strip()
        for cell in SOURCE.cells if cell.metadata.get("nbgrader", {}).get("solution")
        for line in cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0].splitlines()
        if line.strip()
    }
    hidden_lines = {
        line.strip()
        for cell in SOURCE.cells if "### BEGIN HIDDEN TESTS" in cell.source
        for line in cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0].splitlines()
        if len(line.strip()) > 12 and not line.strip().startswith(('"', 'f"', "#", "import "))  # code, not hints
    }
    release_lines = set()
    for directory, _, files in os.walk(os.path.join(REPO_ROOT, "release")):
        for name in files:
            if name.endswith((".py", ".ipynb")):
                with open(os.path.join(directory, name), encoding="utf-8") as handle:
                    text = handle.read()
                assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, name
                for graded in EXERCISES:
                    assert not re.search(rf"^def {graded}\(", text, re.MULTILINE) or name.endswith(".ipynb"), (
                        f"{name} defines the graded function {graded}"
                    )
                release_lines |= {line.strip() for line in text.splitlines()}
    release_code = {line.strip() for cell in RELEASE.cells if cell.cell_type == "code"
                    for line in cell.source.splitlines()}
    assert not (solution_lines - {"return J", "return dtheta", "return difference"}) & release_code
    assert not hidden_lines & release_lines


def test_exercises_graded_cells_and_points():
    solutions = [cell.metadata.nbgrader.grade_id for cell in SOURCE.cells
                 if cell.metadata.get("nbgrader", {}).get("solution")]
    assert solutions == list(EXERCISES)
    for name in EXERCISES:
        cell = next(c for c in SOURCE.cells if c.metadata.get("nbgrader", {}).get("grade_id") == name)
        assert re.search(rf"^def {name}\(", cell.source, re.MULTILINE)
    assert max_scores() == {"forward_propagation": 10, "backward_propagation": 10,
                            "gradient_check": 10, "gradient_check_n": 20}
    for grade_id, exercise, _ in graded_cells(SOURCE):
        assert exercise in EXERCISES and re.fullmatch(rf"test_{exercise}(__[a-z_]+)?", grade_id)
        cell = next(c for c in SOURCE.cells if c.metadata.nbgrader.get("grade_id") == grade_id)
        first = cell.source.splitlines()[0]
        assert first.startswith('"""') and first.endswith('"""') and len(first) > 10, grade_id
        assert "### BEGIN HIDDEN TESTS" in cell.source and cell.metadata.nbgrader.locked


def test_notebooks_are_committed_clean():
    for notebook in (SOURCE, RELEASE):
        assert notebook.metadata.kernelspec.name == "python3"
        ids = [cell.get("id") for cell in notebook.cells]
        assert len(ids) == len(set(ids)) and None not in ids
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, cell.get("id")


def test_figures_referenced_by_the_notebook_exist():
    folder = os.path.dirname(notebook_path(REPO_ROOT, "release"))
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", "\n".join(c.source for c in RELEASE.cells))
    assert sorted(images) == ["figures/backprop.png", "figures/epsilon.png", "figures/vectorization.png"]
    for image in images:
        assert os.path.getsize(os.path.join(folder, image)) > 10_000, image


def test_threshold_in_the_text_is_the_threshold_in_the_code():
    text = cell_by_id(SOURCE, "md-threshold").source
    assert r"\text{difference} < 10^{-6}" in text
    assert cell_by_id(SOURCE, "threshold").source.startswith("THRESHOLD = 1e-6 ")
    for grade_id, _, _ in graded_cells(SOURCE):
        cell = next(c for c in SOURCE.cells if c.metadata.nbgrader.get("grade_id") == grade_id)
        assert set(re.findall(r"< (1e-\d+)", cell.source)) <= {"1e-6"}, grade_id


def test_numbers_in_the_text_are_measured():
    """1.19e-7 for the seed net, 1.6e-7 at most over 210 random nets, about 0.5 for the given bugs."""
    text = cell_by_id(SOURCE, "md-threshold").source
    X, Y, parameters = fixtures.seed_case()
    seed_difference = gradient_check_n(parameters, correct_gradients(X, Y, parameters), X, Y)
    assert f"${seed_difference:.2e}".replace("e-07", r" \times 10^{-7}$") in text
    worst = max(
        gradient_check_n(p, correct_gradients(x, y, p), x, y)
        for sizes in [(4, 5, 3, 1), (3, 4, 2, 1), (5, 3, 1), (2, 6, 1), (6, 4, 4, 3, 1), (3, 1), (4, 8, 6, 4, 2, 1)]
        for seed in range(10) for m in (3, 5, 8)
        for x, y, p in [fixtures.random_case(sizes, m, seed)]
    )
    assert f"${worst:.1e}".replace("e-07", r" \times 10^{-7}$") in text
    assert 1e-6 / worst > 6  # "a margin of more than 6"
    given = {"np": np, "network": network, "fixtures": fixtures}
    exec(cell_by_id(SOURCE, "given-network").source, given)
    buggy = gradient_check_n(parameters, given["gradients"], X, Y)
    assert round(buggy, 1) == 0.5 and "give about $0.5$" in text


def test_release_runs_alone_with_a_correct_answer(tmp_path):
    """A student with only release/gradient_checking/ runs every cell: no error, helpers found there."""
    folder = tmp_path / "gradient_checking"
    shutil.copytree(os.path.dirname(notebook_path(REPO_ROOT, "release")), folder,
                    ignore=shutil.ignore_patterns("__pycache__"))
    alice = next(case for case in read_directory(SAMPLE_CLASS_DIR) if case.name == "alice")
    notebook = build_notebook(alice)
    notebook.cells.append(nbformat.v4.new_code_cell("import helpers; print(helpers.__file__)"))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute(env=env)  # the kernel's environment
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0]
    assert notebook.cells[-1].outputs[0].text.strip().startswith(str(folder))
    recheck = "".join(o.get("text", "") for o in cell_by_id(notebook, "recheck").outputs)
    assert "DISAGREES" not in recheck, "alice fixed both bugs, so the re-check must agree everywhere"


def test_blank_release_runs_to_the_end_and_every_visible_test_fails(tmp_path):
    notebook = nbformat.read(notebook_path(REPO_ROOT, "release"), as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": os.path.dirname(notebook_path(REPO_ROOT, "release"))}}).execute()
    for name in EXERCISES:
        cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"test_{name}"
                    or c.metadata.get("nbgrader", {}).get("grade_id", "").startswith(f"test_{name}__"))
        assert any(o.output_type == "error" and "not written yet" in o.evalue for o in cell.outputs), name
    assert notebook.cells[-1].cell_type == "markdown"  # it ran to the end: the last code cell has outputs
    last_code = [c for c in notebook.cells if c.cell_type == "code"][-1]
    assert last_code.outputs


def test_graded_cells_end_without_a_value():
    """No test cell ends with a bare expression whose value would be shown: Validate would read a
    number there as partial credit, and students would see a stray number."""
    import ast
    for cell in SOURCE.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            for part in (cell.source.split("### BEGIN HIDDEN TESTS")[0], cell.source):
                last = ast.parse(part.replace("### BEGIN HIDDEN TESTS", "").replace("### END HIDDEN TESTS", "")).body[-1]
                if isinstance(last, ast.Expr):
                    function = last.value.func if isinstance(last.value, ast.Call) else None
                    name = getattr(function, "id", getattr(function, "attr", None))
                    assert name in ("print", "runs"), (cell.metadata.nbgrader.grade_id, ast.unparse(last)[:80])
