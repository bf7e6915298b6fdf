"""The offline site: rendered notebooks, every student's feedback, and the class at a glance.

    python -m grader.site --course-root . --out site

It renders with nbconvert and copies nbgrader's own feedback pages, after `make demo` has
autograded the class and written feedback/ and grades.csv. MathJax 3 is copied from the
django-static-mathjax package into the site, so no page needs the network; every link and image
is relative, so the site works from file:// and behind any static server.
"""

import argparse
import csv
import html
import os
import re
import shutil

import mathjax  # the django-static-mathjax package: MathJax 3's files
import matplotlib
import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from .course import ASSIGNMENT, EXERCISES, NOTEBOOK, REPO_ROOT, notebook_path
from .report import batch_summary, default_db_url, exercise_scores

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  -- after choosing the backend

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
# MathJax 3 with SVG output draws glyphs as paths: no web fonts, which Chromium refuses to load
# from file:// pages. The configuration matches nbconvert's MathJax 2 one ($...$ inline, AMS tags).
MATHJAX_HEAD = """<script>window.MathJax = {{tex: {{inlineMath: [['$', '$'], ['\\\\(', '\\\\)']],
  displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']], processEscapes: true, processEnvironments: true,
  tags: 'ams'}}, svg: {{fontCache: 'global'}}}};</script>
<script defer src="{url}"></script>"""
CDN_MATHJAX = re.compile(r"<script[^>]*src=\"https://cdnjs\.cloudflare\.com/ajax/libs/mathjax/[^\"]*\"[^>]*>\s*</script>")
STYLE = """<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; } .instructor { color: #b00020; font-weight: bold; }
</style>"""


def _mathjax_head(depth):
    return MATHJAX_HEAD.format(url="../" * depth + "mathjax/tex-svg.js")


def render_notebook(notebook, destination, depth, banner=""):
    """Write a notebook as HTML with nbconvert's lab template, offline. depth: folders below the site root."""
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[TEMPLATES])
    body, _ = exporter.from_notebook_node(notebook, resources={"banner": banner, "mathjax_head": _mathjax_head(depth)})
    os.makedirs(os.path.dirname(destination), exist_ok=True)
    with open(destination, "w", encoding="utf-8") as handle:
        handle.write(body)


def _page(title, body, depth):
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"{STYLE}</head><body><p><a href='{'../' * depth}index.html'>Course home</a></p>"
            f"<h1>{html.escape(title)}</h1>{body}</body></html>")


def _copy_assignment_files(step_folder, destination):
    """Figures and other files a notebook page links to, beside the page."""
    figures = os.path.join(step_folder, "figures")
    if os.path.isdir(figures):
        shutil.copytree(figures, os.path.join(destination, "figures"), dirs_exist_ok=True)


def build_feedback(course_root, out):
    """Copy nbgrader's feedback pages, pointing their MathJax at the site's copy. returns: student ids"""
    students = []
    feedback_root = os.path.join(course_root, "feedback")
    for student in sorted(os.listdir(feedback_root)) if os.path.isdir(feedback_root) else []:
        source = os.path.join(feedback_root, student, ASSIGNMENT)
        page = os.path.join(source, NOTEBOOK.replace(".ipynb", ".html"))
        if not os.path.isfile(page):
            continue
        destination = os.path.join(out, "feedback", student, ASSIGNMENT)
        shutil.copytree(source, destination, dirs_exist_ok=True)
        with open(page, encoding="utf-8") as handle:
            text = handle.read()  # nbgrader's feedback template hard-codes the MathJax CDN
        with open(os.path.join(destination, os.path.basename(page)), "w", encoding="utf-8") as handle:
            handle.write(CDN_MATHJAX.sub(lambda _: _mathjax_head(3), text))
        students.append(student)
    return students


def read_grades_csv(path):
    """grades.csv from nbgrader export: dict student -> score."""
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}


def build_class_page(course_root, out):
    """The class table (checked against grades.csv), score plots and the most frequent failures."""
    scores = exercise_scores(default_db_url(course_root))
    exported = read_grades_csv(os.path.join(course_root, "grades.csv"))
    folder = os.path.join(out, "class")
    os.makedirs(folder, exist_ok=True)
    rows = []
    for student, per_exercise in scores.items():
        total = sum(score for score, _ in per_exercise.values())
        if abs(total - exported.get(student, float("nan"))) > 1e-9:
            raise ValueError(f"the gradebook says {student} scored {total}, grades.csv says {exported.get(student)}: "
                             "run `nbgrader export` again")
        cells = "".join(f"<td>{score:g}</td>" for score, _ in per_exercise.values())
        rows.append(f"<tr><td><a href='../feedback/{html.escape(student)}/{ASSIGNMENT}/{ASSIGNMENT}.html'>"
                    f"{html.escape(student)}</a></td>{cells}<td>{total:g}</td></tr>")
    maxima = next(iter(scores.values())) if scores else {e: (0, 0) for e in EXERCISES}
    header = "".join(f"<th>{e}<br>(/{maxima[e][1]:g})</th>" for e in EXERCISES)
    table = (f"<table id='scores'><tr><th>student</th>{header}<th>total</th></tr>{''.join(rows)}</table>")
    figure, axes = plt.subplots(1, len(EXERCISES), figsize=(14, 3), constrained_layout=True)
    for axis, exercise in zip(axes, EXERCISES):
        axis.hist([per[exercise][0] for per in scores.values()], bins=10, range=(0, maxima[exercise][1] or 1),
                  color="#1f77b4", edgecolor="white")
        axis.set(title=exercise, xlabel="score", ylabel="students")
    figure.savefig(os.path.join(folder, "scores.png"), dpi=90, metadata={"Software": None})
    plt.close(figure)
    summary = batch_summary(course_root)
    failures = "".join(f"<li><b>{count}</b> × {html.escape(message)}</li>" for message, count in summary["failures"])
    problems = "".join(f"<li>{html.escape(s)}: {html.escape(p)}</li>" for s, p in summary["kernel_problems"].items())
    body = (f"<p>{len(scores)} students. Scores from the gradebook; totals checked against grades.csv.</p>"
            f"{table}<h2>Score distribution per exercise</h2><img src='scores.png' alt='Histogram of scores "
            f"for each exercise'><h2>Most frequent failures</h2><ol>{failures or '<li>none</li>'}</ol>"
            f"<h2>Kernel problems</h2><ul>{problems or '<li>none</li>'}</ul>")
    with open(os.path.join(folder, "index.html"), "w", encoding="utf-8") as handle:
        handle.write(_page("The class at a glance (instructors)", body, depth=1))


def build_site(course_root, out):
    """Build the whole site into `out` (replaced). returns: list of page paths relative to out"""
    if os.path.isdir(out):
        shutil.rmtree(out)
    shutil.copytree(os.path.join(os.path.dirname(mathjax.__file__), "static", "mathjax", "es5"),
                    os.path.join(out, "mathjax"))
    release = nbformat.read(notebook_path(course_root, "release"), as_version=4)
    render_notebook(release, os.path.join(out, "student", f"{ASSIGNMENT}.html"), depth=1)
    _copy_assignment_files(os.path.dirname(notebook_path(course_root, "release")), os.path.join(out, "student"))
    source_folder = os.path.dirname(notebook_path(course_root, "source"))
    source = nbformat.read(notebook_path(course_root, "source"), as_version=4)
    NotebookClient(source, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": source_folder}}).execute()
    render_notebook(source, os.path.join(out, "instructor", f"{ASSIGNMENT}.html"), depth=1,
                    banner="INSTRUCTOR VERSION: solutions and hidden tests. Do not share with students.")
    _copy_assignment_files(source_folder, os.path.join(out, "instructor"))
    students = build_feedback(course_root, out)
    build_class_page(course_root, out)
    feedback = "".join(f"<li><a href='feedback/{html.escape(s)}/{ASSIGNMENT}/{ASSIGNMENT}.html'>{html.escape(s)}</a></li>"
                       for s in students)
    body = (f"<ul><li><a href='student/{ASSIGNMENT}.html'>The assignment</a> (what students receive)</li>"
            f"<li><a href='instructor/{ASSIGNMENT}.html'>The solution</a> "
            f"<span class='instructor'>(instructors only: solutions and hidden tests)</span></li>"
            f"<li><a href='class/index.html'>The class at a glance</a> "
            f"<span class='instructor'>(instructors only)</span></li></ul>"
            f"<h2>Feedback</h2><ul>{feedback or '<li>none yet: run make demo</li>'}</ul>")
    with open(os.path.join(out, "index.html"), "w", encoding="utf-8") as handle:
        handle.write(_page("Gradient checking", body, depth=0))
    # Browsers ask a server for /favicon.ico; answer with a small icon rather than a 404.
    icon = [[(0.12, 0.47, 0.71)] * 16] * 16
    plt.imsave(os.path.join(out, "favicon.ico"), icon, format="png", metadata={"Software": None})
    pages = ["index.html", f"student/{ASSIGNMENT}.html", f"instructor/{ASSIGNMENT}.html", "class/index.html"]
    return pages + [f"feedback/{s}/{ASSIGNMENT}/{ASSIGNMENT}.html" for s in students]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course-root", default=REPO_ROOT)
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "site"))
    args = parser.parse_args()
    pages = build_site(args.course_root, args.out)
    print(f"wrote {len(pages)} pages to {args.out}; open {os.path.join(args.out, 'index.html')}")


if __name__ == "__main__":
    main()
