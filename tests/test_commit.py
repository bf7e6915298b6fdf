"""The parallel grader's direct sanitize and commit (grader/commit.py), and the faster
preprocessors both ways use, give exactly what nbgrader's own Autograde converter gives: the same
sanitized notebook, every file and folder of autograded/, byte for byte and with its mode, and
every column of every gradebook row; the feedback that one GenerateFeedback converter kept for
the class writes is what a new one per student writes; and RestoreReadOnlyCells restores what
nbgrader's OverwriteCells restores. Two courses receive the same submissions (a sample student of
each kind, kernels that crash, and the intake cases); each is sanitized both ways, executed once,
and committed both ways, first fresh and then again, with feedback, over the first commit after
an instructor's manual grade and comment."""

import copy
import os
import re
import stat

import nbformat
import pytest
import sqlalchemy
from hypothesis import given, settings, strategies
from nbgrader.api import Gradebook
from nbgrader.preprocessors import OverwriteCells

from conftest import SUBSET, all_cases, gradebook_rows, make_course, write_cases
from grader import parallel, worker
from grader.coordinator import Coordinator
from grader.preprocessors import RestoreReadOnlyCells
from grader.course import ASSIGNMENT, course_directory

pytestmark = pytest.mark.xdist_group("commit")  # its tests share one module fixture: made once, on one worker
UUID = re.compile(r"[0-9a-f]{32}")


# One sample student per kind of commit (full marks, blank, partial, errors in the outputs, late),
# then the parity subset's kernels that crash and intake cases (links, special files, no notebook,
# a renamed one, truncated JSON, duplicated cells, stripped metadata, hostile replies).
SAMPLE_KINDS = ("alice", "bilal", "chen", "emeka", "hana")
# Feedback pages, one after the other from the same converter: one of each kind of page
FEEDBACK_FOR = ("adv_file_no_notebook", "adv_os_exit", "alice", "bilal", "emeka", "hana")


def subset_cases():
    names = set(SAMPLE_KINDS) | set(SUBSET)
    return [case for case in all_cases() if case.name in names]


def coordinator_for(root, commit_with, *nbgrader_args):
    """A coordinator of that course without a Dask client (its prepare and commit run here), with feedback."""
    app = parallel.make_app(ASSIGNMENT, [f"--CourseDirectory.root={root}", *nbgrader_args])
    app.log.setLevel("ERROR")
    return Coordinator(app, client=None, force=True, feedback=True, commit_with=commit_with)


@pytest.fixture(scope="module")
def committed_both_ways(tmp_path_factory):
    """Two courses with the same submissions; each execution committed through nbgrader's converter
    in one and directly in the other. yields: dict with "roots" (converter, direct), "students",
    "after_first" (files and rows of both after the first commit), "errors" (student -> both
    commits' errors, where either failed) and "sanitized" (student -> both sanitized notebooks,
    or None where nothing was sent)"""
    cases = subset_cases()
    roots = [make_course(str(tmp_path_factory.mktemp(name) / "course")) for name in ("converter", "direct")]
    for root in roots:
        write_cases(root, cases)
    coordinators = [coordinator_for(roots[0], "nbgrader"), coordinator_for(roots[1], "direct")]
    results, errors, sanitized = {}, {}, {}

    def commit_all(feedback):
        for student in coordinators[0].submissions():
            outcome = []
            for coordinator in coordinators:
                coordinator.feedback = feedback and student in FEEDBACK_FOR
                meta = coordinator.prepare(student)
                sanitized.setdefault(student, []).append(meta and meta["notebook_json"])
                if meta is None:
                    outcome.append(coordinator.commit(student))
                    continue
                if meta["digest"] not in results:  # one execution per distinct notebook
                    results[meta["digest"]] = worker.grade_on_worker(meta["notebook_json"], meta["notebook"],
                                                                     coordinator.bundle)
                outcome.append(coordinator.commit(student, meta, results[meta["digest"]]))
            if any(outcome):
                errors[student] = outcome

    commit_all(feedback=False)
    after_first = [(autograded_files(root), gradebook_dump(course_directory(root).db_url)) for root in roots]
    for root in roots:
        grade_by_hand(course_directory(root).db_url, "alice")
    commit_all(feedback=True)
    yield {"roots": roots, "students": [case.name for case in cases], "after_first": after_first, "errors": errors,
           "sanitized": sanitized}


def grade_by_hand(db_url, student):
    """An instructor's manual score on the first graded cell and comment on the first commented one."""
    with Gradebook(db_url) as gradebook:
        notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        notebook.grades[0].manual_score = 1.0
        notebook.comments[0].manual_comment = "See me about the tolerance."
        gradebook.db.commit()


def autograded_files(root, step="autograded"):
    """Every file and folder under that step's folder: relative path -> (mode, bytes with the course's path as <course>)."""
    found = {}
    top = os.path.join(root, step)
    for folder, subfolders, names in os.walk(top):
        for name in subfolders + names:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            content = None
            if stat.S_ISREG(mode):
                with open(path, "rb") as handle:
                    content = handle.read().replace(root.encode("utf-8"), b"<course>")
            found[os.path.relpath(path, top)] = (stat.filemode(mode), content)
    return found


def gradebook_dump(db_url):
    """Every row of every table, as table -> sorted list of rows; each row id (nbgrader's random
    uuid) is replaced by what that row holds, recursively, so two gradebooks that hold the same
    compare equal and any difference in any column shows."""
    engine = sqlalchemy.create_engine(db_url)
    try:
        with engine.connect() as connection:
            tables = {name: [dict(row._mapping) for row in connection.execute(sqlalchemy.text(f'SELECT * FROM "{name}"'))]
                      for name in sqlalchemy.inspect(engine).get_table_names() if name != "alembic_version"}
    finally:
        engine.dispose()
    rows_by_id = {}  # a cell's id names a row in base_cells and one in grade_cells, say: all of them
    for table, rows in sorted(tables.items()):
        for row in rows:
            if isinstance(row.get("id"), str) and UUID.fullmatch(row["id"]):
                rows_by_id.setdefault(row["id"], []).append((table, row))
    labels = {}

    def label(row_id):
        if row_id not in labels:
            labels[row_id] = tuple((table, canonical(row)) for table, row in rows_by_id[row_id])
        return labels[row_id]

    def canonical(row):
        return tuple(sorted((column, label(value) if isinstance(value, str) and value in rows_by_id else repr(value))
                            for column, value in row.items() if column != "id"))

    return {table: sorted(canonical(row) for row in rows) for table, rows in tables.items()}


def test_the_subset_commits_without_errors(committed_both_ways):
    assert committed_both_ways["errors"] == {}


def test_direct_sanitize_gives_the_notebook_nbgrader_sanitizes(committed_both_ways):
    sanitized = committed_both_ways["sanitized"]
    assert set(sanitized) == set(committed_both_ways["students"])
    assert sum(1 for texts in sanitized.values() if texts[0]) >= len(sanitized) - 2  # all but intake's refusals
    for student, texts in sanitized.items():
        notebooks = [text and nbformat.reads(text, as_version=4) for text in texts]  # (direct: compact JSON)
        assert len(texts) == 4 and texts[0] == texts[2] and texts[1] == texts[3], student  # both commits, the same
        assert notebooks[1] == notebooks[0], student


@pytest.mark.parametrize("commit", ["first", "again, over a manual grade"])
def test_direct_commit_writes_the_files_the_converter_writes(committed_both_ways, commit):
    if commit == "first":
        files = [files for files, _ in committed_both_ways["after_first"]]
    else:
        files = [autograded_files(root) for root in committed_both_ways["roots"]]
    students = {path.split(os.sep)[0] for path in files[0]}
    assert students == set(committed_both_ways["students"])
    assert len(files[0]) > 4 * len(students)  # the notebook, its report, the helpers, the figures...
    assert sorted(files[1]) == sorted(files[0])
    for path in files[0]:
        assert files[1][path] == files[0][path], path


def test_one_feedback_converter_for_the_class_writes_what_one_per_student_writes(committed_both_ways):
    pages = [autograded_files(root, "feedback") for root in committed_both_ways["roots"]]
    assert {path.split(os.sep)[0] for path in pages[0]} == set(FEEDBACK_FOR)
    assert sum(path.endswith(".html") for path in pages[0]) == len(FEEDBACK_FOR)
    assert sorted(pages[1]) == sorted(pages[0])
    for path in pages[0]:
        assert pages[1][path] == pages[0][path], path


@pytest.mark.parametrize("commit", ["first", "again, over a manual grade"])
def test_direct_commit_writes_the_gradebook_rows_the_converter_writes(committed_both_ways, commit):
    if commit == "first":
        dumps = [dump for _, dump in committed_both_ways["after_first"]]
    else:
        dumps = [gradebook_dump(course_directory(root).db_url) for root in committed_both_ways["roots"]]
    students = len(committed_both_ways["students"])
    assert len(dumps[0]["submitted_assignment"]) == students
    assert len(dumps[0]["grade"]) == students * len(dumps[0]["grade_cells"]) >= 5 * students
    assert sorted(dumps[1]) == sorted(dumps[0])
    for table in dumps[0]:
        assert dumps[1][table] == dumps[0][table], table
    if commit != "first":
        assert any("See me about the tolerance." in repr(row) for row in dumps[0]["comment"])


def test_comments_say_no_response_exactly_for_answers_left_as_released(committed_both_ways):
    """nbgrader's rule, kept by SaveJudgedGrades: "No response." where the answer cell is unchanged."""
    rows = gradebook_rows(course_directory(committed_both_ways["roots"][1]).db_url, ["alice", "adv_file_no_notebook"])
    comments = {(student, cell): auto for (student, cell, *kind), value in rows.items() if kind == ["comment"]
                for auto in [value[0]]}
    assert len(comments) >= 8
    assert all((auto == "No response.") == (student == "adv_file_no_notebook") for (student, _), auto in comments.items())


DAMAGES = {
    "source edited": lambda cell: setattr(cell, "source", cell.source + "\n# edited"),
    "type flipped": lambda cell: setattr(cell, "cell_type", "markdown" if cell.cell_type == "code" else "code"),
    "lock flipped": lambda cell: cell.metadata.nbgrader.update(locked=not cell.metadata.nbgrader.get("locked", False)),
    "points changed": lambda cell: cell.metadata.nbgrader.update(points=cell.metadata.nbgrader.get("points", 0) + 3),
    "checksum forged": lambda cell: cell.metadata.nbgrader.update(checksum="0" * 32),
    "unknown grade_id": lambda cell: cell.metadata.nbgrader.update(grade_id=cell.metadata.nbgrader["grade_id"] + "-x"),
}


def test_restore_read_only_cells_restores_what_nbgrader_restores(tmp_path):
    """RestoreReadOnlyCells (master cells read once, one instance for every notebook) against
    nbgrader's own OverwriteCells (new each time), with each kind of damage done to every cell."""
    root = make_course(str(tmp_path / "course"))
    release = nbformat.read(os.path.join(root, "release", ASSIGNMENT, f"{ASSIGNMENT}.ipynb"), as_version=4)
    resources = {"nbgrader": {"notebook": ASSIGNMENT, "assignment": ASSIGNMENT,
                              "db_url": course_directory(root).db_url, "student": "someone"}}
    ours = RestoreReadOnlyCells()
    for damage, apply in DAMAGES.items():
        damaged = copy.deepcopy(release)
        cells = [cell for cell in damaged.cells if "grade_id" in cell.metadata.get("nbgrader", {})]
        assert len(cells) >= 10
        for cell in cells:
            apply(cell)
        expected, _ = OverwriteCells()(copy.deepcopy(damaged), copy.deepcopy(resources))
        restored, _ = ours(copy.deepcopy(damaged), copy.deepcopy(resources))
        assert nbformat.writes(restored) == nbformat.writes(expected), damage
        if damage == "source edited":
            assert nbformat.writes(expected) != nbformat.writes(damaged)  # nbgrader did restore something


def test_students_that_nbgrader_excludes_are_not_graded(tmp_path):
    """CourseDirectory.student_id_exclude, which nbgrader's converters skip, leaves them out of the batch."""
    root = make_course(str(tmp_path / "course"))
    write_cases(root, [case for case in all_cases() if case.name in ("alice", "bilal", "hana")])
    coordinator = coordinator_for(root, "direct", "--CourseDirectory.student_id_exclude=alice,hana")
    assert coordinator.submissions() == ["bilal"]
    assert coordinator_for(root, "direct").submissions() == ["alice", "bilal", "hana"]


def test_a_submission_whose_files_change_while_it_is_graded_is_not_committed(tmp_path):
    """Its execution belongs to the files it had when it was sent: nothing is written, and the reason says to run again."""
    root = make_course(str(tmp_path / "course"))
    write_cases(root, [case for case in all_cases() if case.name == "alice"])
    coordinator = coordinator_for(root, "direct")
    meta = coordinator.prepare("alice")
    with open(os.path.join(meta["folder"], "notes.txt"), "w") as handle:
        handle.write("written after the submission was sent to a worker")
    error = coordinator.commit("alice", meta, result={"notebook": "", "judge": {}})
    assert "changed while it was being graded" in error and "run again" in error
    assert not os.path.exists(os.path.join(root, "autograded", "alice"))


metadata_values = strategies.one_of(strategies.none(), strategies.booleans(), strategies.integers(-1, 12),
                                    strategies.text(max_size=4), strategies.floats(allow_nan=False))
nbgrader_metadata = strategies.fixed_dictionaries(
    {"schema_version": strategies.sampled_from([3, 3, 3, 2, 4])},
    optional={key: metadata_values for key in ("grade", "solution", "locked", "task", "grade_id", "points",
                                               "cell_type", "checksum")})


@settings(max_examples=300, deadline=None)
@given(strategies.sampled_from(["code", "markdown"]), nbgrader_metadata)
def test_the_cell_metadata_check_refuses_what_nbgraders_refuses_and_again_when_asked_again(cell_type, metadata):
    """The sanitize and commit steps check each cell's nbgrader metadata with a compiled schema that
    remembers what passed: the same verdict and error as nbgrader's own MetadataValidator, the
    second time too."""
    from nbgrader.nbgraderformat import MetadataValidator

    from grader.preprocessors import _CompiledMetadataValidator
    cell = getattr(nbformat.v4, f"new_{cell_type}_cell")("x = 1")
    cell.metadata["nbgrader"] = metadata

    def outcome(validator):
        try:
            validator.validate_cell(copy.deepcopy(cell))
        except Exception as error:  # noqa: BLE001 -- the error is what is compared
            return type(error).__name__, str(error)
        return None

    expected = outcome(MetadataValidator())
    assert outcome(_CompiledMetadataValidator()) == expected
    assert outcome(_CompiledMetadataValidator()) == expected
