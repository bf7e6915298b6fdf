"""Every use of nbgrader's private API, in one place, for the nbgrader version it was written for.

nbgrader offers hooks and configurable classes, but a few things this grader needs have no public
door. Each is a small function here; ``check_version`` refuses to run on another nbgrader, so an
upgrade is a conscious review of this file, not a silent change of behaviour.
"""

import contextlib
import glob
import os
import pathlib
from collections.abc import Callable

import nbgrader
from traitlets import TraitError

WRITTEN_FOR = "0.9.6"


def check_version() -> None:
    """Raise unless the installed nbgrader is the one this adapter was written for."""
    if nbgrader.__version__ != WRITTEN_FOR:
        raise RuntimeError(
            f"grader/nbgrader_adapter.py was written for nbgrader {WRITTEN_FOR}, but nbgrader "
            f"{nbgrader.__version__} is installed. Review each function of that file against the new "
            "version (converters/base.py and converters/autograde.py), then update WRITTEN_FOR.")


check_version()


def sanitizing(converter) -> bool:
    """True while nbgrader's Autograde converter reads submitted notebooks (its sanitize step)."""
    return bool(getattr(converter, "_sanitizing", False))


def submission_folders(coursedir, student_id: str | None = None) -> list[str]:
    """The submission folders an Autograde run covers, notebook or not. returns: sorted list of paths

    student_id -- a student id or pattern (default: the CourseDirectory's, --student)
    nbgrader's own listing (``BaseConverter.init_notebooks``) skips folders without a notebook.
    """
    student_id = coursedir.student_id if student_id is None else student_id
    pattern = coursedir.format_path(coursedir.submitted_directory, student_id, coursedir.assignment_id)
    return sorted(path for path in glob.glob(pattern) if os.path.isdir(path) or os.path.islink(path))


def grade_every_folder(notebook_name_of: Callable[[object, str], str],
                       before_batch: Callable[[object], None] | None = None) -> None:
    """Make nbgrader's Autograde converter grade every submission folder, notebook or not.

    nbgrader's own listing (``BaseConverter.init_notebooks``) maps each folder to the notebooks
    found in it and skips folders without one, so a student who submitted no notebook would be
    missing from the gradebook; and it fails outright when one student asked for (``--student``)
    has none. Here every folder maps to <folder>/<notebook_name_of(coursedir, assignment)>,
    whether or not that file exists, so that renamed, missing and extra notebooks all go through
    intake (see intake.py). before_batch(coursedir), if given, runs first: an exception there
    stops the whole batch at once, with its message, before any student. Installed once, by
    nbgrader_config.py.
    """
    from nbgrader.converters import Autograde
    from nbgrader.converters.base import NbGraderException

    def init_notebooks(converter):
        coursedir = converter.coursedir
        if before_batch is not None:
            try:
                before_batch(coursedir)
            except Exception as error:
                converter.log.error("%s", error)
                raise NbGraderException(str(error)) from None
        converter.notebooks = []
        converter.assignments = {
            folder: [os.path.join(folder, notebook_name_of(coursedir, os.path.basename(folder)))]
            for folder in submission_folders(coursedir)}
        if not converter.assignments:
            pattern = coursedir.format_path(coursedir.submitted_directory, coursedir.student_id, coursedir.assignment_id)
            converter.log.error("No submission folders match %s", pattern)
            raise NbGraderException(f"No submission folders match {pattern}")

    Autograde.init_notebooks = init_notebooks


def batch_size(converter) -> int:
    """How many submissions the running Autograde converter grades (for a progress line)."""
    return len(getattr(converter, "assignments", {}) or {}) or 1


def sanitize_only(converter, path: str) -> tuple[str, dict]:
    """Run an Autograde converter's sanitize step alone on one submitted notebook, writing nothing.

    nbgrader runs sanitize and autograde back to back inside ``Autograde.convert_single_notebook``;
    the parallel grader sanitizes at dispatch, so that a worker executes exactly what the commit
    will see. returns: (the sanitized notebook as JSON text, nbgrader's resources for it)
    """
    converter.exporter = converter.exporter_class(parent=converter, config=converter.config)
    converter._sanitizing = True
    converter._init_preprocessors()
    return converter.exporter.from_filename(path, resources=converter.init_single_notebook_resources(path))


@contextlib.contextmanager
def one_engine_per_database():
    """While active, every nbgrader Gradebook opened in this process shares one SQLAlchemy engine
    per database URL, which keeps its connections, and checks the database's tables and its
    course's row once per engine.

    nbgrader opens a new Gradebook, and so a new engine, about ten times for every submission it
    commits; each new engine starts with an empty cache of compiled SQL and opens a new connection
    (SQLite then reads the whole schema again), and each Gradebook asks the database for its table
    names, then for each table it might have to create, then for its course's row, which it adds
    if missing (``check_course``, with a commit). The parallel grader's coordinator commits every
    submission of a class in one process, so it keeps the engines, their pooled connections
    (``Gradebook.close`` still ends its session, which returns its connection to the pool, but
    does not ``dispose`` of the pool) and what they checked; nbgrader never removes a course's
    row. The engines are disposed of on exit.
    """
    from nbgrader import api

    engines, checked, courses = {}, set(), set()
    create, inspect, metadata = api.create_engine, api.inspect, api.Base.metadata
    create_all, patched_before = metadata.create_all, vars(metadata).get("create_all")  # (when nested)
    check_course = api.Gradebook.check_course

    def shared_engine(db_url, **options):
        if db_url not in engines:
            engines[db_url] = create(db_url, **options)
            engines[db_url].dispose = _keep_connections
        return engines[db_url]

    def inspect_unless_checked(subject):  # Gradebook asks whether the database has tables yet
        return _HasTables() if subject in checked else inspect(subject)

    def create_all_once(bind=None, **options):
        if bind not in checked:
            create_all(bind=bind, **options)
            checked.add(bind)

    def check_course_once(gradebook, course_id="default_course", **options):  # only Gradebook.__init__ calls it
        if options or (gradebook.engine, course_id) not in courses:
            check_course(gradebook, course_id, **options)
            courses.add((gradebook.engine, course_id))  # (nbgrader never removes a course's row)

    api.create_engine, api.inspect, metadata.create_all = shared_engine, inspect_unless_checked, create_all_once
    api.Gradebook.check_course = check_course_once
    try:
        yield
    finally:
        api.create_engine, api.inspect, api.Gradebook.check_course = create, inspect, check_course
        if patched_before is None:
            del metadata.create_all  # the class's method again
        else:
            metadata.create_all = patched_before
        for engine in engines.values():
            del engine.dispose  # the class's method again
            engine.dispose()


def _keep_connections(close=True):
    """Instead of Engine.dispose while one_engine_per_database is active: the pool keeps its connections."""


class _HasTables:
    """What Gradebook reads of an inspector of a database whose tables were checked: that it has some."""

    @staticmethod
    def get_table_names():
        return ["(checked)"]


def notebook_resources(coursedir, student: str, notebook_id: str) -> dict:
    """The resources nbgrader's converters give their preprocessors for one notebook
    (``BaseConverter.init_single_notebook_resources``)."""
    return {"unique_key": notebook_id, "output_files_dir": f"{notebook_id}_files",
            "nbgrader": {"student": student, "assignment": coursedir.assignment_id, "notebook": notebook_id,
                         "db_url": coursedir.db_url}}


@contextlib.contextmanager
def autograde_folder(converter, student: str, notebook_id: str):
    """nbgrader's Autograde converter's own steps around converting one submission's notebook
    (``BaseConverter.convert_notebooks`` for one folder, with --force): clear the autograded
    folder, copy the submitted and master files, create the student and the submission in the
    gradebook with its timestamp, zero the notebooks not submitted; after the body, set the
    files' permissions and run the post-convert hook. The body writes the notebook.

    converter -- an Autograde converter (commit.autograde_converter), reused from one student to the next
    yields: (the autograded folder, the resources nbgrader gives the autograde preprocessors)
    On an exception, removes the autograded folder, as the converter does, and raises it again.
    """
    from nbgrader.utils import rmtree

    coursedir, assignment = converter.coursedir, converter.coursedir.assignment_id
    try:
        converter.exporter  # init_destination reads its file extension
    except TraitError:  # none yet
        converter.exporter = converter.exporter_class(parent=converter, config=converter.config)
    source, dest = converter._format_source(assignment, student), converter._format_dest(assignment, student)
    converter.notebooks = [os.path.join(source, notebook_id + ".ipynb")]
    if not converter.init_destination(assignment, student):
        raise RuntimeError(f"nbgrader would not autograde {student} (CourseDirectory.student_id_exclude?)")
    try:
        converter.run_pre_convert_hook()
        converter.init_assignment(assignment, student)
        pathlib.Path(dest).mkdir(mode=0o755, parents=True, exist_ok=True)  # as nbconvert's FilesWriter makes it
        yield dest, notebook_resources(coursedir, student, notebook_id)
        converter.set_permissions(assignment, student)
        converter.run_post_convert_hook()
    except BaseException:
        if os.path.exists(dest):
            rmtree(dest)
        raise


def convert_for(converter, student: str) -> None:
    """What ``BaseConverter.start`` does, for one student, with the converter's FilesWriter and exporter
    (its preprocessors registered) made at the first call and reused after it.

    A new converter per student builds a new exporter: for feedback, a new HTML exporter, whose
    templates are found and compiled again, and new preprocessors, whose CSS is read again.
    converter -- an nbgrader converter (GenerateFeedback, say) that keeps the course's configuration
    """
    from nbconvert.writers import FilesWriter

    try:
        converter.writer  # made at the first call, as start() makes it
    except TraitError:  # none yet
        converter.writer = FilesWriter(parent=converter, config=converter.config)
        converter.exporter = converter.exporter_class(parent=converter, config=converter.config)
        for preprocessor in converter.preprocessors:
            converter.exporter.register_preprocessor(preprocessor)
    converter.coursedir.student_id = student
    getattr(converter.exporter, "_nb_metadata", {}).clear()  # nbconvert keeps each notebook's metadata
    with contextlib.chdir(converter.coursedir.root):
        converter.init_notebooks()
        converter.convert_notebooks()
