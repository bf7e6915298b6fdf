"""The offline site: rendered notebooks, every student's feedback, and the class at a glance.

    python -m grader.site --course-root . --out site

It renders with nbconvert and copies nbgrader's own feedback pages, after `make demo` has
autograded the class and written feedback/ and grades.csv. MathJax 3 is copied from the
django-static-mathjax package into the site, so no page needs the network; every link and image
is relative, so the site works from file:// and behind any static server.

Nothing a student wrote runs in a reader's browser: every page is rendered with the same
sanitizing filters as formgrader and the feedback (grader/safe_html.py), every text from a student
is escaped, and every page carries a Content-Security-Policy that lets only the site's own scripts
run (MathJax, and the template's inline scripts, allowed one by one by their hashes).
The site is built in a new folder, which replaces the old one only when it is complete.
"""

import argparse
import csv
import html
import os
import re
import shutil
import urllib.parse

import mathjax  # the django-static-mathjax package: MathJax 3's files
import matplotlib
import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from .course import ASSIGNMENT, EXERCISES, NOTEBOOK, REPO_ROOT, assignment_folder, course_directory, step_folder
from .report import batch_summary, exercise_scores, final_scores, late_penalties
from .safe_html import clean_html, sanitize_markdown

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  -- after choosing the backend

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
SAFE_FILTERS = {"strip_files_prefix": sanitize_markdown, "clean_html": clean_html}
PAGE_NAME = NOTEBOOK.replace(".ipynb", ".html")
# MathJax 3 with SVG output draws glyphs as paths: no web fonts, which Chromium refuses to load
# from file:// pages. The configuration matches nbconvert's MathJax 2 one ($...$ inline, AMS tags).
MATHJAX_CONFIG = """window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']],
  displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']], processEscapes: true, processEnvironments: true,
  tags: 'ams'}, svg: {fontCache: 'global'}};"""
CDN_MATHJAX = re.compile(r"<script[^>]*src=\"https://cdnjs\.cloudflare\.com/ajax/libs/mathjax/[^\"]*\"[^>]*>\s*</script>")
STYLE = """<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; } .instructor { color: #b00020; font-weight: bold; }
</style>"""


def _mathjax_head(depth):
    prefix = "../" * depth + "mathjax/"
    return f'<script src="{prefix}config.js"></script>\n<script defer src="{prefix}tex-svg.js"></script>'


# Every page carries this policy: only the site's own script files run (MathJax and its settings;
# the pages hold no inline script), nothing is fetched from elsewhere, and no form or <base> works.
CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; font-src 'self' data:; base-uri 'none'; form-action 'none'")


def _with_policy(text):
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
    return re.sub(r"<head([^>]*)>", lambda match: f"<head{match.group(1)}>{meta}", text, count=1)


def render_notebook(notebook: nbformat.NotebookNode, depth: int, banner: str = "") -> str:
    """A notebook as HTML with nbconvert's lab template, offline and sanitised. depth: folders below
    the site root. returns: the page's text"""
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[TEMPLATES], sanitize_html=True,
                            filters=SAFE_FILTERS)
    body, _ = exporter.from_notebook_node(notebook, resources={"banner": banner, "mathjax_head": _mathjax_head(depth)})
    return body


def _page(title, body, depth):
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"{STYLE}</head><body><p><a href='{'../' * depth}index.html'>Course home</a></p>"
            f"<h1>{html.escape(title)}</h1>{body}</body></html>")


def _copy_assignment_files(folder, destination):
    """Figures and other files a notebook page links to, beside the page."""
    figures = os.path.join(folder, "figures")
    if os.path.isdir(figures):
        shutil.copytree(figures, os.path.join(destination, "figures"), dirs_exist_ok=True)


def _link(student, depth=0):
    """The relative link to a student's feedback page, safe in an href whatever the student's id."""
    return "../" * depth + f"feedback/{urllib.parse.quote(student)}/{ASSIGNMENT}/{PAGE_NAME}"


def feedback_pages(coursedir) -> dict[str, tuple[str, str]]:
    """nbgrader's feedback pages: dict student -> (folder, page text with MathJax from the site)."""
    pages = {}
    root = step_folder(coursedir, "feedback")
    for student in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        folder = assignment_folder(coursedir, "feedback", student)
        page = os.path.join(folder, PAGE_NAME)
        if os.path.isfile(page) and not os.path.islink(page):
            with open(page, encoding="utf-8") as handle:  # nbgrader's template hard-codes the MathJax CDN
                pages[student] = (folder, CDN_MATHJAX.sub(lambda _: _mathjax_head(3), handle.read()))
    return pages


def read_grades_csv(path: str) -> dict[str, float]:
    """grades.csv from nbgrader export: dict student -> score (after any late penalty)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}


def class_page(coursedir, folder: str) -> str:
    """The class table (checked against grades.csv), score plots and the most frequent failures.

    folder -- where to write scores.png; returns: the page's text
    """
    scores, penalties = exercise_scores(coursedir), late_penalties(coursedir)
    final = final_scores(scores, penalties)
    exported = read_grades_csv(os.path.join(coursedir.root, "grades.csv"))
    for student, score in final.items():
        if abs(score - exported.get(student, float("nan"))) > 1e-9:
            raise ValueError(f"the gradebook says {student} scored {score} after the late penalty, grades.csv "
                             f"says {exported.get(student)}: run `nbgrader export` again")
    rows = []
    for student, per_exercise in scores.items():
        total = sum(score for score, _ in per_exercise.values())
        cells = "".join(f"<td>{score:g}</td>" for score, _ in per_exercise.values())
        late = f"-{penalties[student]:g}" if penalties.get(student) else ""
        rows.append(f"<tr><td><a href='{html.escape(_link(student, 1))}'>{html.escape(student)}</a></td>{cells}"
                    f"<td>{total:g}</td><td>{late}</td><td>{final[student]:g}</td></tr>")
    maxima = next(iter(scores.values())) if scores else {e: (0, 0) for e in EXERCISES}
    header = "".join(f"<th>{e}<br>(/{maxima[e][1]:g})</th>" for e in EXERCISES)
    table = (f"<table id='scores'><tr><th>student</th>{header}<th>total</th><th>late penalty</th>"
             f"<th>score</th></tr>{''.join(rows)}</table>")
    figure, axes = plt.subplots(1, len(EXERCISES), figsize=(14, 3), constrained_layout=True)
    for axis, exercise in zip(axes, EXERCISES):
        axis.hist([per[exercise][0] for per in scores.values()], bins=10, range=(0, maxima[exercise][1] or 1),
                  color="#1f77b4", edgecolor="white")
        axis.set(title=exercise, xlabel="score", ylabel="students")
    figure.savefig(os.path.join(folder, "scores.png"), dpi=90, metadata={"Software": None})
    plt.close(figure)
    summary = batch_summary(coursedir.root)
    failures = "".join(f"<li><b>{count}</b> × {html.escape(message)}</li>" for message, count in summary["failures"])
    problems = "".join(f"<li>{html.escape(s)}: {html.escape(p)}</li>" for s, p in summary["kernel_problems"].items())
    notes = "".join(f"<li>{html.escape(s)}: {html.escape('; '.join(n))}</li>" for s, n in summary["notes"].items())
    body = (f"<p>{len(scores)} students. Scores from the gradebook; the score after any late penalty is "
            "checked against grades.csv.</p>"
            f"{table}<h2>Score distribution per exercise</h2><img src='scores.png' alt='Histogram of scores "
            f"for each exercise'><h2>Most frequent failures</h2><ol>{failures or '<li>none</li>'}</ol>"
            f"<h2>Kernel problems</h2><ul>{problems or '<li>none</li>'}</ul>"
            f"<h2>Intake notes</h2><ul>{notes or '<li>none</li>'}</ul>")
    return _page("The class at a glance (instructors)", body, depth=1)


def build_site(course_root: str, out: str) -> list[str]:
    """Build the whole site and put it at `out` (replacing what was there). returns: page paths relative to out"""
    coursedir = course_directory(os.path.abspath(course_root))
    building = f"{out}.building-{os.getpid()}"
    if os.path.isdir(building):
        shutil.rmtree(building)
    try:
        pages = {}  # path relative to the site -> text
        shutil.copytree(os.path.join(os.path.dirname(mathjax.__file__), "static", "mathjax", "es5"),
                        os.path.join(building, "mathjax"))
        with open(os.path.join(building, "mathjax", "config.js"), "w", encoding="utf-8") as handle:
            handle.write(MATHJAX_CONFIG)
        release = nbformat.read(os.path.join(assignment_folder(coursedir, "release"), NOTEBOOK), as_version=4)
        pages[f"student/{PAGE_NAME}"] = render_notebook(release, depth=1)
        _copy_assignment_files(assignment_folder(coursedir, "release"), os.path.join(building, "student"))
        source_folder = assignment_folder(coursedir, "source")
        source = nbformat.read(os.path.join(source_folder, NOTEBOOK), as_version=4)
        NotebookClient(source, timeout=300, kernel_name="python3", resources={"metadata": {"path": source_folder}}).execute()
        pages[f"instructor/{PAGE_NAME}"] = render_notebook(
            source, depth=1, banner="INSTRUCTOR VERSION: solutions and hidden tests. Do not share with students.")
        _copy_assignment_files(source_folder, os.path.join(building, "instructor"))
        students = feedback_pages(coursedir)
        for student, (folder, text) in students.items():
            destination = os.path.join(building, "feedback", student, ASSIGNMENT)
            shutil.copytree(folder, destination, ignore=shutil.ignore_patterns(PAGE_NAME), symlinks=True)
            pages[os.path.relpath(os.path.join(destination, PAGE_NAME), building)] = text
        os.makedirs(os.path.join(building, "class"))
        pages["class/index.html"] = class_page(coursedir, os.path.join(building, "class"))
        feedback = "".join(f"<li><a href='{html.escape(_link(s))}'>{html.escape(s)}</a></li>" for s in students)
        body = (f"<ul><li><a href='student/{PAGE_NAME}'>The assignment</a> (what students receive)</li>"
                f"<li><a href='instructor/{PAGE_NAME}'>The solution</a> "
                f"<span class='instructor'>(instructors only: solutions and hidden tests)</span></li>"
                f"<li><a href='class/index.html'>The class at a glance</a> "
                f"<span class='instructor'>(instructors only)</span></li></ul>"
                f"<h2>Feedback</h2><ul>{feedback or '<li>none yet: run make demo</li>'}</ul>")
        pages["index.html"] = _page("Gradient checking", body, depth=0)
        for relative, text in pages.items():
            with open(os.path.join(building, relative), "w", encoding="utf-8") as handle:
                handle.write(_with_policy(text))
        # Browsers ask a server for /favicon.ico; answer with a small icon rather than a 404.
        icon = [[(0.12, 0.47, 0.71)] * 16] * 16
        plt.imsave(os.path.join(building, "favicon.ico"), icon, format="png", metadata={"Software": None})
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)  # the old site stays as it was
        raise
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.rename(building, out)
    return ["index.html", f"student/{PAGE_NAME}", f"instructor/{PAGE_NAME}", "class/index.html"] + [
        _link(student) for student in students]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course-root", default=REPO_ROOT)
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "site"))
    args = parser.parse_args()
    pages = build_site(args.course_root, args.out)
    print(f"wrote {len(pages)} pages to {args.out}; open {os.path.join(args.out, 'index.html')}")


if __name__ == "__main__":
    main()
