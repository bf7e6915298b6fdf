"""Every use of nbgrader's private API, in one place, for the nbgrader version it was written for.

nbgrader offers hooks and configurable classes, but a few things this grader needs have no public
door. Each is a small function here; ``check_version`` refuses to run on another nbgrader, so an
upgrade is a conscious review of this file, not a silent change of behaviour.
"""

import contextlib
import glob
import os
from collections.abc import Callable

import nbgrader

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


def submission_folders(coursedir) -> list[str]:
    """The submission folders an Autograde run covers, notebook or not. returns: sorted list of paths

    nbgrader's own listing (``BaseConverter.init_notebooks``) skips folders without a notebook.
    """
    pattern = coursedir.format_path(coursedir.submitted_directory, coursedir.student_id, coursedir.assignment_id)
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
    per database URL.

    nbgrader opens a new Gradebook, and so a new engine, about ten times for every submission it
    commits; each new engine starts with an empty cache of compiled SQL. The parallel grader's
    coordinator commits every submission of a class in one process, so it keeps the engines:
    ``Gradebook.close`` still returns the engine's connections (``dispose``), and the engines are
    disposed of on exit.
    """
    from nbgrader import api

    engines = {}
    create = api.create_engine

    def shared_engine(db_url, **options):
        if db_url not in engines:
            engines[db_url] = create(db_url, **options)
        return engines[db_url]

    api.create_engine = shared_engine
    try:
        yield
    finally:
        api.create_engine = create
        for engine in engines.values():
            engine.dispose()
