"""The student's flow in real JupyterLab, in headless Chromium: type the answers, run every cell,
see the visible tests pass, click nbgrader's Validate button, save, and autograde the saved file.
In one notebook, as a student works: first with Exercise 3 still blank, then with every exercise
answered; the file saved at each stage is autograded as a submission of its own."""

import json
import os
import shutil

import nbformat
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("jupyterlab")]

from browser import chromium, jupyter_lab, watched_page
from conftest import make_course, run_nbgrader, scores_of
from grader.course import ASSIGNMENT, EXERCISES, NOTEBOOK, REPO_ROOT
from tools.submissions import SUBMITTED_AT, solution_sources

TOKEN = "gradient-checking-test-token"
STAGES = {"left_gradient_check_blank": [e for e in EXERCISES if e != "gradient_check"],  # typed first
          "typed_everything": ["gradient_check"]}  # then the last answer
STUDENT = "student"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free loopback port, serving a copy of the release."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(os.path.join(REPO_ROOT, "release", ASSIGNMENT), root / STUDENT,
                    ignore=shutil.ignore_patterns("__pycache__"))
    settings = root / ".settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    with jupyter_lab(root, root, TOKEN) as (url, _):
        yield {"url": url, "root": root}


def open_notebook(page, url):
    """Open the notebook and wait for its kernel."""
    page.goto(f"{url}?reset&token={TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_function("""() => {
        const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
        const kernel = widget && widget.sessionContext && widget.sessionContext.session && widget.sessionContext.session.kernel;
        return kernel && kernel.status === 'idle';
    }""", timeout=60_000)


def type_answers_and_save(page, answers):
    """Type each answer over its exercise cell, run all cells, save.

    returns: the text of every output shown in the page
    """
    for name, code in answers.items():
        cell = page.locator(".jp-NotebookPanel:visible .jp-CodeCell").filter(has_text=f"def {name}(").filter(has_text="YOUR CODE HERE")
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(code)
        page.keyboard.press("Escape")
    # The commands' promises settle when every cell has run and when the file is saved.
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    return "\n".join(page.locator(".jp-NotebookPanel:visible .jp-OutputArea").all_inner_texts())


def validate(page):
    """Click nbgrader's Validate button in the notebook's toolbar. returns: the text of its dialog"""
    page.locator(".jp-NotebookPanel:visible .jp-Toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=120_000)
    page.wait_for_function("() => !document.querySelector('.jp-Dialog').innerText.includes('Validating')",
                           timeout=120_000)
    text = dialog.inner_text()
    dialog.get_by_role("button").last.click()
    return text


def test_typed_answers_pass_the_visible_tests_and_autograde(lab, tmp_path):
    solutions = solution_sources()
    shown, saved = {}, {}
    with chromium() as browser:
        page = watched_page(browser)
        open_notebook(page, f"{lab['url']}/lab/workspaces/{STUDENT}/tree/{STUDENT}/{NOTEBOOK}")
        for stage, answered in STAGES.items():
            shown[stage] = type_answers_and_save(page, {e: solutions[e] for e in answered})
            shown[stage + ":validate"] = validate(page)
            saved[stage] = nbformat.read(lab["root"] / STUDENT / NOTEBOOK, as_version=4)
        page.close()
    for message in ("forward_propagation passes the visible test", "backward_propagation passes the visible test",
                    "gradient_check passes the visible tests.", "gradient_check_n passes the visible tests."):
        assert message in shown["typed_everything"], message
    assert "Error" not in shown["typed_everything"]
    assert "gradient_check passes the visible tests." not in shown["left_gradient_check_blank"]
    assert "NotImplementedError" in shown["left_gradient_check_blank"]
    assert "Success! Your notebook passes all the tests." in shown["typed_everything:validate"]
    failed = shown["left_gradient_check_blank:validate"]
    assert "The following cell failed" in failed and "gradient_check raised NotImplementedError" in failed
    assert "gradient_check_n raised" not in failed and "Success" not in failed

    course = make_course(str(tmp_path / "course"))
    for student, notebook in saved.items():
        assert "YOUR CODE HERE" not in "".join(c.source for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "forward_propagation")
        folder = os.path.join(course, "submitted", student, ASSIGNMENT)
        os.makedirs(folder)
        nbformat.write(notebook, os.path.join(folder, NOTEBOOK))
        with open(os.path.join(folder, "timestamp.txt"), "w") as handle:
            handle.write(SUBMITTED_AT + "\n")
    run_nbgrader(course, "autograde", ASSIGNMENT, "--force")
    scores, _ = scores_of(course)
    assert all(score == full for score, full in scores["typed_everything"].values()), scores["typed_everything"]
    blank = scores["left_gradient_check_blank"]
    assert blank["gradient_check"][0] == 0
    assert all(blank[e][0] == blank[e][1] for e in EXERCISES if e != "gradient_check"), blank
