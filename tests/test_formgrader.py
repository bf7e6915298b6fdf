"""Formgrader, opened by a logged-in instructor in JupyterLab on a loopback server, in headless Chromium.

The pages a student's work reaches there are on the instructor's own server origin, where a script
could use the Jupyter REST API (write files, open terminals). Every payload of tests/adversarial's
adv_markup_* cases (markdown, HTML, SVG, JavaScript, attachments, messages) must stay inert, the
student's math and plots must still show, files a submission carried must not be served, and an
Autograde from formgrader leaves no kernel running in the server.
"""

import time
import urllib.request

import psutil
import pytest
from nbgrader.api import Gradebook

from browser import XSS_MARKERS, chromium, jupyter_lab
from conftest import BATCH_LIMITS, REPO_ROOT, all_cases, make_course, run_nbgrader, write_cases
from grader.course import ASSIGNMENT, course_directory

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("formgrader")]
TOKEN = "formgrader-test-token"
PAYLOAD_STUDENTS = ("adv_markup_payloads", "adv_markup_in_messages", "adv_file_links_and_special_files")


@pytest.fixture(scope="module")
def formgrader(tmp_path_factory):
    """JupyterLab with nbgrader's formgrader on a free loopback port, for a course that graded the
    payload cases and alice."""
    course = make_course(str(tmp_path_factory.mktemp("formgrader") / "course"))
    write_cases(course, [case for case in all_cases() if case.name in PAYLOAD_STUDENTS + ("alice",)])
    run_nbgrader(course, "autograde", ASSIGNMENT, *BATCH_LIMITS)
    home = tmp_path_factory.mktemp("instructor-home")
    with open(home / "nbgrader_config.py", "w") as handle:  # the course's config, for a course root elsewhere
        handle.write(f"load_subconfig('nbgrader_config.py', path={REPO_ROOT!r})\n"
                     f"c.CourseDirectory.root = {course!r}\n")
    coursedir = course_directory(course)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        ids = {student: gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).id
               for student in PAYLOAD_STUDENTS + ("alice",)}
    with jupyter_lab(course, home, TOKEN) as (url, server):
        yield {"url": url, "course": course, "ids": ids, "server": server}


@pytest.fixture(scope="module")
def instructor_browser(formgrader):
    """One headless Chromium for the module, with a context where the instructor has opened JupyterLab
    (logged in: the server has set its cookies). yields: (context, the JupyterLab page)"""
    with chromium() as browser:
        context = browser.new_context()
        lab = context.new_page()
        lab.goto(f"{formgrader['url']}/lab?token={TOKEN}")
        lab.wait_for_selector(".jp-LabShell", timeout=60_000)
        yield context, lab
        context.close()


def pwned_files(url):
    """Files a payload tried to create through the Jupyter REST API."""
    found = []
    for name in ("pwned-script.txt", "pwned.txt"):
        try:
            urllib.request.urlopen(f"{url}/api/contents/{name}?token={TOKEN}", timeout=5)
            found.append(name)
        except OSError:
            pass
    return found


def test_no_student_markup_runs_in_formgraders_views(formgrader, instructor_browser):
    context, _ = instructor_browser
    page = context.new_page()
    for student in PAYLOAD_STUDENTS:
        page.goto(f"{formgrader['url']}/formgrader/submissions/{formgrader['ids'][student]}/")
        page.wait_for_load_state("load")
        page.wait_for_timeout(1500)  # time for anything that would run after load
        assert page.evaluate(XSS_MARKERS) == [], student
        assert page.url.startswith(formgrader["url"]), f"{student}: the page was sent elsewhere: {page.url}"
    text = page.inner_text("body")
    assert "STUDENT-MESSAGE" not in text or "<img" in text  # shown as text, if at all
    page.goto(f"{formgrader['url']}/formgrader/submissions/{formgrader['ids']['adv_markup_payloads']}/")
    page.wait_for_load_state("load")
    assert "My notes." in page.inner_text("body") and "bold output" in page.inner_text("body")
    assert page.locator("img[src^='data:image/png']").count() >= 1  # the student's plots and image
    assert page.evaluate(XSS_MARKERS) == []
    page.close()
    assert pwned_files(formgrader["url"]) == []


def test_files_a_submission_carried_are_not_served(formgrader):
    student_page = f"{formgrader['url']}/formgrader/submissions/{formgrader['ids']['adv_file_links_and_special_files']}"
    for name in ("page.html", "pic.svg", "notes.txt", "passwd.csv"):
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{student_page}/{name}?token={TOKEN}", timeout=10)


def test_the_formgrader_opens_in_jupyterlab_and_lists_the_assignment(formgrader, instructor_browser):
    _, page = instructor_browser
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands.hasCommand('nbgrader:open-formgrader')",
                           timeout=60_000)
    page.evaluate("() => window.jupyterapp.commands.execute('nbgrader:open-formgrader')")
    frame = page.frame_locator(".jp-MainAreaWidget:visible iframe")
    frame.locator("text=Manage Assignments").first.wait_for(timeout=60_000)
    frame.locator("td >> text=gradient_checking").first.wait_for(timeout=60_000)  # the course's assignment
    assert page.evaluate(XSS_MARKERS) == []


def sandboxes_of(server):
    return [p for p in psutil.Process(server.pid).children(recursive=True) if p.name() in ("bwrap", "python3", "python")
            and "ipykernel" in " ".join(p.cmdline())]


def test_an_autograde_from_formgrader_leaves_no_kernel_running(formgrader, instructor_browser):
    context, _ = instructor_browser
    page = context.new_page()
    page.goto(f"{formgrader['url']}/formgrader?token={TOKEN}")
    page.wait_for_load_state("load")
    result = page.evaluate("""async (url) => {
        const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1];
        const reply = await fetch(url, {method: 'POST', headers: {'X-XSRFToken': xsrf}});
        return await reply.json();
    }""", f"{formgrader['url']}/formgrader/api/submission/{ASSIGNMENT}/alice/autograde")
    page.close()
    assert result.get("success"), result
    deadline = time.monotonic() + 15
    while sandboxes_of(formgrader["server"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert sandboxes_of(formgrader["server"]) == [], "a kernel started ahead of need outlived the Autograde"
