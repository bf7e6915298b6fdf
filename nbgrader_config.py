"""nbgrader configuration for the gradient-checking course: the one place where its settings live.

Run the plain nbgrader commands from this folder (the course root), or from anywhere with
--CourseDirectory.root=<this folder> and this file in place. The README walks through a term.
"""

import os
import sys
import warnings

COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, COURSE_ROOT)  # the trusted `grader` package

from grader import intake, preprocessors  # noqa: E402

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

# ---------------------------------------------------------------- the course
c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.course_id = "gradient-checking"  # students pass it: nbgrader fetch_assignment ... --course=gradient-checking
# The gradebook: SQLite in the course root by default; GRADEBOOK_URL may name another, such as
# postgresql://grader@db.example:5432/gradebook for several graders. A wrong or unreachable URL
# fails every nbgrader command loudly; it never falls back to SQLite.
if os.environ.get("GRADEBOOK_URL"):
    c.CourseDirectory.db_url = os.environ["GRADEBOOK_URL"]
# The exchange that release_assignment, submit, collect and the feedback commands go through: one
# folder on the machine every student logs in to, writable by all (NBGRADER_EXCHANGE overrides it).
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
# collect takes only real folders owned by the student they name, and never follows a link.
c.ExchangeFactory.collect = "grader.exchange.OwnerCheckedCollect"
# nbgrader zip_collect for LMS downloads: set the LMS whose file names to read (grader/lms.py).
c.ZipCollectApp.collector_plugin = "grader.lms.LmsFileNameCollector"
c.LmsFileNameCollector.lms = os.environ.get("GRADER_LMS", "canvas")

# ---------------------------------------------------------------- deadlines (grader/late.py)
c.ApplyDueDate.due_dates = {"gradient_checking": "2026-11-20 23:59:00 UTC"}
c.AssignLatePenalties.plugin_class = "grader.late.PerStartedDay"
c.PerStartedDay.fraction_per_day = 0.1  # 10 % of the score for each started day late

# ---------------------------------------------------------------- limits of one submission
# (grader/preprocessors.py, JudgedExecute; these are the defaults, written out to be seen)
c.JudgedExecute.cell_timeout = 30       # seconds one cell of the notebook may run
c.JudgedExecute.notebook_timeout = 300  # seconds all of the notebook's own cells may run
c.JudgedExecute.call_timeout = 30       # seconds one call from the hidden tests may take
c.JudgedExecute.test_budget = 60        # seconds all calls from the hidden tests may take together

# ---------------------------------------------------------------- trustworthy autograding
# Submissions are hostile data (grader/intake.py). Before nbgrader copies a submission folder,
# intake moves aside everything that is not a regular file of an accepted type and bounded size
# (links, FIFOs, devices, .html, ...); it then reads the notebook without following links,
# whatever its encoding, damage or structure, and lays its cells onto the release's skeleton.
# Folders without a notebook are graded too, as blank.
c.Autograde.pre_convert_hook = intake.prepare_submission
c.Autograde.post_convert_hook = intake.finish_submission  # then forget it: memory does not grow with the class
c.Autograde.exporter_class = "grader.intake.IntakeExporter"
# Before each batch: refuse at once if no sandbox can be made, and grade every submission folder,
# even one without a notebook, which nbgrader itself would skip.
preprocessors.prepare_batches()
c.CourseDirectory.ignore = intake.NEVER_COPIED  # the grading report is the grader's, never a student's
# Student cells run in a bubblewrap sandbox, graded cells are judged in this process from the
# gradebook's copy, and only the judge's verdicts reach the gradebook (grader/preprocessors.py).
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.OverwriteKernelspec",
    "grader.preprocessors.RestoreReadOnlyCells",
    "grader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "grader.preprocessors.JudgedExecute",
    "grader.preprocessors.SaveJudgedGrades",
    "grader.late.ApplyDueDate",
    "nbgrader.preprocessors.AssignLatePenalties",
    "grader.preprocessors.CheckCellMetadata",
]

# ---------------------------------------------------------------- what instructors and students see
# Nothing a student wrote may run in an instructor's browser (grader/safe_html.py). Every page that
# nbconvert renders with this configuration, formgrader's views and the feedback among them, keeps
# only inert markup: nbconvert's own sanitize_html cleans outputs, and these two filters clean every
# markdown cell too, which formgrader's and feedback's templates would otherwise pass through.
c.HTMLExporter.sanitize_html = True
c.HTMLExporter.filters = {"strip_files_prefix": "grader.safe_html.sanitize_markdown",
                          "clean_html": "grader.safe_html.clean_html"}
c.HTMLExporter.embed_images = True  # students receive only the feedback page: its figures go inside it
# Feedback goes to students: it must not show hidden test code (nbgrader issue #917), and their
# grading report comes without the grader's timings and fingerprints.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "grader.feedback.HideHiddenTests",
    "grader.feedback.StudentReport",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.Validator.width = 160  # nbgrader validate: show the visible tests' messages whole

# nbgrader creates a new student's submission rows in a way SQLAlchemy 2 warns about, harmlessly
# (the rows are added right after); only those exact warnings are silenced.
warnings.filterwarnings(
    "ignore", module=r"nbgrader\.api$",
    message=r"Object of type <Submitted(Assignment|Notebook)> not in session, add operation along "
            r"'(Student|Assignment|Notebook)\.submissions' will not proceed")
