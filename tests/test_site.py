"""The offline site: every page is inert and self-contained (read as HTML: its Content-Security-Policy,
no script but the site's own files, no event handler or script URL, every link and image inside the
site), and in headless Chromium each kind of page loads cleanly, equations are typeset, images load,
links resolve and no student markup runs; the class table matches grades.csv. From file:// and from
a static server."""

import functools
import html.parser
import http.server
import os
import threading
import urllib.parse

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("batch")]

from browser import XSS_MARKERS, chromium, require_browser, watched_page
from grader.site import build_site, read_grades_csv
from tools import submissions

SAMPLE_STUDENTS = {case.name for case in submissions.read_directory(submissions.SAMPLE_CLASS_DIR)}

WAIT_FOR_MATHJAX = """() => new Promise(resolve => {
    if (!window.MathJax || !MathJax.startup) { resolve(0); return; }
    MathJax.startup.promise.then(() => resolve(document.querySelectorAll('mjx-container').length));
})"""
RAW_TEX = """() => Array.from(document.querySelectorAll('.jp-RenderedMarkdown, .text_cell_render'))
    .map(element => element.innerText).filter(text => /\\$|\\\\frac|\\\\lVert|\\\\varepsilon/.test(text))"""


@pytest.fixture(scope="module")
def site(graded_course, tmp_path_factory):
    require_browser()
    out = str(tmp_path_factory.mktemp("site") / "site")
    return {"out": out, "pages": build_site(graded_course["root"], out), "root": graded_course["root"]}


@pytest.fixture(scope="module")
def browser(site):
    """One headless Chromium for the module; each test opens its own pages (each a new context)."""
    with chromium() as launched:
        yield launched


def check_page(page, url):
    """Load one page and return what is wrong with it (empty when nothing is)."""
    page.goto(url, wait_until="load")
    typeset = page.evaluate(WAIT_FOR_MATHJAX)
    problems = list(page.problems)
    problems += [f"raw TeX left: {text[:80]!r}" for text in page.evaluate(RAW_TEX)]
    problems += [f"image not loaded: {src}" for src in page.evaluate(
        "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")]
    return problems, typeset


# The payload page carries a deliberately broken image (<img src=x onerror=...>): its failed request
# is the student's own markup, not a fault of the site.
PAYLOAD_PAGE = "feedback/adv_markup_payloads/"
BROKEN_IMAGE = ("/adv_markup_payloads/gradient_checking/x", "Failed to load resource: net::ERR_FILE_NOT_FOUND")


class PageMarkup(html.parser.HTMLParser):
    """What one page's HTML holds that could run or reach outside: its policies, scripts, event
    handler attributes and every URL an element names."""

    URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "poster", "data", "background"}

    def __init__(self, text):
        super().__init__()
        self.policies, self.scripts, self.handlers, self.urls, self.frames = [], [], [], [], []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "content-security-policy":
            self.policies.append(attributes.get("content") or "")
        if tag == "script":
            self.scripts.append(attributes)
        if tag in ("iframe", "frame", "object", "embed", "base", "form"):
            self.frames.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"<{tag} {name}>")
            elif name in self.URL_ATTRIBUTES and value is not None:
                self.urls.append((tag, name, value.strip()))


def test_every_page_is_inert_and_self_contained(site):
    """Every page, read as HTML: one Content-Security-Policy that allows only the site's own scripts;
    no script but the site's own files (an inline one only of a type that never runs); no event
    handler attribute, frame, form or base; no javascript: or other script URL; every link and image
    inside the site and there (a student's own web links on the payload page are shown, inert)."""
    for relative in site["pages"]:
        with open(os.path.join(site["out"], relative), encoding="utf-8") as handle:
            markup = PageMarkup(handle.read())
        folder = os.path.dirname(os.path.join(site["out"], relative))
        assert len(markup.policies) == 1, relative
        script_src = markup.policies[0].split("script-src")[1].split(";")[0]
        assert "default-src 'none'" in markup.policies[0] and script_src.strip() == "'self'", relative
        for script in markup.scripts:
            if "src" in script:
                assert os.path.isfile(os.path.join(folder, urllib.parse.unquote(script["src"]))), (relative, script)
            else:
                assert script.get("type") == "text/x-mathjax-config", (relative, script)
        assert not markup.handlers and not markup.frames, (relative, markup.handlers, markup.frames)
        for tag, name, url in markup.urls:
            parsed = urllib.parse.urlparse(url)
            if parsed.scheme == "data":
                assert tag == "img" and url.startswith(("data:image/png;", "data:image/jpeg;")), (relative, url[:80])
            elif parsed.scheme in ("http", "https") and tag == "a" and relative.startswith(PAYLOAD_PAGE):
                continue  # the student's own links to the web, shown inert
            else:
                assert parsed.scheme == "" and not parsed.netloc, (relative, tag, name, url[:80])
                target = os.path.realpath(os.path.join(folder, urllib.parse.unquote(parsed.path)))
                assert target.startswith(os.path.realpath(site["out"]) + os.sep), (relative, url)
                if parsed.path and not (tag == "img" and relative.startswith(PAYLOAD_PAGE)):  # (see BROKEN_IMAGE)
                    assert os.path.exists(target), (relative, url)


def page_kinds(pages):
    """One page of each kind for the browser: the site's own pages, the sample class (every kind of
    student), and every case whose own markdown, files or notebook shape reach the page."""
    return [relative for relative in pages
            if not relative.startswith("feedback/")
            or relative.split("/")[1].startswith(("adv_markup", "adv_nb_", "adv_file_"))
            or relative.split("/")[1] in SAMPLE_STUDENTS]


def test_each_kind_of_page_loads_typesets_shows_its_images_links_inside_and_runs_no_student_markup(site, browser):
    """Each kind of page (page_kinds), from file://: no console error or failed request, equations
    typeset, images shown, every link inside the site, the Content-Security-Policy in place, and no
    payload of the adv_markup_* cases running, nor sending the page elsewhere."""
    page = watched_page(browser)
    kinds = page_kinds(site["pages"])
    assert PAYLOAD_PAGE + "gradient_checking/gradient_checking.html" in kinds and len(kinds) >= 20, kinds
    for relative in kinds:
        url = "file://" + os.path.join(site["out"], relative)
        problems, typeset = check_page(page, url)
        if relative.startswith(PAYLOAD_PAGE):
            problems = [problem for problem in problems if not problem.endswith(BROKEN_IMAGE)]
        assert not problems, (relative, problems)
        if relative.endswith("gradient_checking.html") and not relative.startswith("feedback/bilal"):
            assert typeset > 20, (relative, typeset)
        page.problems.clear()
        assert page.evaluate(XSS_MARKERS) == [], relative
        assert page.url == url, f"{relative} was sent to {page.url}"
        policy = page.evaluate("() => document.querySelector('meta[http-equiv=Content-Security-Policy]').content")
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        for href in page.evaluate("() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"):
            parsed = urllib.parse.urlparse(href)
            if parsed.scheme in ("http", "https") and relative.startswith(PAYLOAD_PAGE):
                continue  # the student's own links to the web, shown inert
            assert parsed.scheme == "file", f"{relative} links outside the site: {href}"
            assert os.path.exists(urllib.parse.unquote(parsed.path)), f"{relative}: broken link {href}"


def test_the_payload_pages_still_show_the_students_words_math_and_images(site, browser):
    page = watched_page(browser)
    page.goto("file://" + os.path.join(site["out"], PAYLOAD_PAGE, "gradient_checking", "gradient_checking.html"),
              wait_until="load")
    text = page.inner_text("body")
    assert "My notes." in text and "bold output" in text  # the student's words are shown, inert
    assert page.locator("img[src^='data:image/png']").count() >= 1  # and their images and plots
    assert page.evaluate(WAIT_FOR_MATHJAX) > 20  # and the math
    assert page.evaluate(XSS_MARKERS) == []


def test_class_table_matches_grades_csv_after_the_late_penalty(site, browser):
    exported = read_grades_csv(os.path.join(site["root"], "grades.csv"))
    page = watched_page(browser)
    page.goto("file://" + os.path.join(site["out"], "class", "index.html"))
    rows = page.evaluate("""() => Array.from(document.querySelectorAll('#scores tr')).slice(1)
        .map(row => Array.from(row.cells).map(cell => cell.innerText))""")
    assert {row[0]: float(row[-1]) for row in rows} == exported
    hana = next(row for row in rows if row[0] == "hana")
    assert hana[-3:] == ["50", "-10", "40"]  # total, late penalty, score


def test_the_site_works_behind_a_static_server(site, browser):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=site["out"])
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = watched_page(browser)
        for relative in ("index.html", "student/gradient_checking.html", "class/index.html",
                         "feedback/alice/gradient_checking/gradient_checking.html",
                         "feedback/hana/gradient_checking/gradient_checking.html"):
            problems, _ = check_page(page, f"http://127.0.0.1:{server.server_port}/{relative}")
            assert not problems, (relative, problems)
    finally:
        server.shutdown()
        server.server_close()


def test_instructor_pages_are_marked_and_student_pages_hold_no_solution(site):
    def read(relative):
        with open(os.path.join(site["out"], relative), encoding="utf-8") as handle:
            return handle.read()
    assert "INSTRUCTOR VERSION" in read("instructor/gradient_checking.html")
    assert "BEGIN HIDDEN TESTS" in read("instructor/gradient_checking.html")
    student = read("student/gradient_checking.html")
    assert "BEGIN SOLUTION" not in student and "BEGIN HIDDEN TESTS" not in student
    assert "INSTRUCTOR VERSION" not in student
    for relative in site["pages"]:
        if relative.startswith("feedback/"):
            assert "BEGIN HIDDEN TESTS" not in read(relative), relative


def test_a_build_that_fails_leaves_the_site_as_it_was(site):
    """grades.csv disagreeing with the gradebook stops the build; the site already there is untouched."""
    grades = os.path.join(site["root"], "grades.csv")
    with open(grades, encoding="utf-8") as handle:
        original = handle.read()
    index = os.path.join(site["out"], "index.html")
    before = os.path.getmtime(index)
    try:
        with open(grades, "w", encoding="utf-8") as handle:
            handle.write(original.replace(",50.0,0.0,50.0,50.0", ",50.0,0.0,49.0,50.0", 1))
        with pytest.raises(ValueError, match="grades.csv says"):
            build_site(site["root"], site["out"])
    finally:
        with open(grades, "w", encoding="utf-8") as handle:
            handle.write(original)
    assert os.path.getmtime(index) == before
    assert not [name for name in os.listdir(os.path.dirname(site["out"])) if ".building-" in name]
