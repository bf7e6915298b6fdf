"""Files are data, never links (grader/intake.py): every kind of entry a hostile or careless submission
can hold is moved aside, with its reason, before nbgrader copies anything; nothing it points at is
read, written or moved; and the notebook is found whatever it is called and wherever it is."""

import os
import socket
import stat

import nbformat
import pytest
from traitlets.config.loader import PyFileConfigLoader

from conftest import REPO_ROOT
from grader import intake
from grader.course import NOTEBOOK, course_directory, notebook_path

RELEASE = nbformat.read(notebook_path(REPO_ROOT, "release"), as_version=4)


@pytest.fixture
def course(tmp_path):
    """A course root with one submission folder holding a notebook and a timestamp, and a secret."""
    folder = tmp_path / "submitted" / "mallory" / "gradient_checking"
    folder.mkdir(parents=True)
    nbformat.write(RELEASE, folder / NOTEBOOK)
    (folder / "timestamp.txt").write_text("2026-11-20 17:00:00.000000 UTC\n")
    secret = tmp_path / "source" / "secret.ipynb"
    secret.parent.mkdir()
    secret.write_text("SECRET hidden tests")
    return {"root": tmp_path, "folder": folder, "secret": secret}


def make_socket(path):
    """A Unix socket file (bound by its name in its folder: a full temporary path can be too long)."""
    here = os.getcwd()
    os.chdir(os.path.dirname(path))
    try:
        server = socket.socket(socket.AF_UNIX)
        server.bind(os.path.basename(path))
        server.close()
    finally:
        os.chdir(here)


ENTRIES = {
    "absolute link to a file": lambda f, c: os.symlink(c["secret"], f / "notes.txt"),
    "relative link to a file": lambda f, c: os.symlink("../../../source/secret.ipynb", f / "answers.py"),
    "link to a folder": lambda f, c: os.symlink(c["secret"].parent, f / "helpers2"),
    "link to a system file": lambda f, c: os.symlink("/etc/passwd", f / "data.csv"),
    "dangling link": lambda f, c: os.symlink("/nonexistent/file", f / "gone.txt"),
    "link to itself": lambda f, c: os.symlink("loop.txt", f / "loop.txt"),
    "link in a subfolder": lambda f, c: (os.mkdir(f / "sub"), os.symlink(c["secret"], f / "sub" / "x.py")),
    "hard link to a course file": lambda f, c: os.link(c["secret"], f / "copy.ipynb"),
    "FIFO": lambda f, c: os.mkfifo(f / "pipe.txt"),
    "socket": lambda f, c: make_socket(f / "sock.txt"),
    "oversized file": lambda f, c: open(f / "big.npy", "wb").truncate(intake.MAX_FILE_BYTES + 1),
    "HTML page": lambda f, c: (f / "page.html").write_text("<script>alert(1)</script>"),
    "SVG image": lambda f, c: (f / "pic.svg").write_text("<svg onload='alert(1)'/>"),
    "JavaScript": lambda f, c: (f / "code.js").write_text("alert(1)"),
    "name with a terminal escape": lambda f, c: (f / "\x1b[31mred.txt").write_text("x"),
    "name with a bidi override": lambda f, c: (f / "evil\u202etxt.py").write_text("x"),
    "folders too deep": lambda f, c: os.makedirs(f / "/".join(["d"] * (intake.MAX_DEPTH + 2))),
    "unparseable timestamp": lambda f, c: (f / "timestamp.txt").write_text("the day before the deadline\n"),
}
if os.geteuid() == 0:
    ENTRIES["character device"] = lambda f, c: os.mknod(f / "zero.txt", 0o666 | stat.S_IFCHR, os.makedev(1, 5))


REASONS = {"hard link": "hard link", "link": "symbolic link", "FIFO": "not a regular file", "socket": "not a regular file",
           "device": "not a regular file", "oversized": "over the", "HTML": "file type", "SVG": "file type",
           "JavaScript": "file type", "name with": "control characters", "too deep": "deeper than",
           "timestamp": "not a timestamp"}


def expected_reason(kind):
    return next(reason for word, reason in REASONS.items() if word in kind)


def is_safe(folder):
    """Everything left under folder is a real folder or a regular, unlinked file of an accepted type."""
    for directory, folders, files in os.walk(folder):
        for name in folders + files:
            info = os.lstat(os.path.join(directory, name))
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1 or not name.endswith(intake.ACCEPTED_SUFFIXES):
                return False
    return True


@pytest.mark.parametrize("kind", sorted(ENTRIES))
def test_every_kind_of_entry_that_is_not_plain_data_is_moved_aside_with_its_reason(course, kind):
    folder, secret = course["folder"], course["secret"]
    ENTRIES[kind](folder, course)
    before = {name for name in os.listdir(folder)}
    record = intake.vet_folder(str(folder), "mallory", "gradient_checking")
    assert is_safe(folder), kind
    assert record.refused and record.notes, kind
    assert all(expected_reason(kind) in reason for _, reason in record.refused), (kind, record.refused)
    assert (folder / NOTEBOOK).is_file()  # the honest notebook stays
    assert secret.read_text() == "SECRET hidden tests" and secret.stat().st_nlink == (2 if "hard" in kind else 1)
    refused = course["root"] / "submitted" / intake.REFUSED_FOLDER / "mallory"
    moved = [os.path.join(d, n) for d, fs, ns in os.walk(refused) for n in fs + ns]
    special = any(word in kind for word in ("FIFO", "socket", "device"))
    assert bool(moved) != special, f"{kind}: links and files are kept aside, special files removed"
    assert before - set(os.listdir(folder)) <= {os.path.basename(m) for m in moved} | {"d"} or special, kind


def test_a_submission_folder_that_is_a_link_is_not_followed(course):
    folder = course["folder"]
    os.rename(folder, folder.parent / "elsewhere")
    os.symlink(course["secret"].parent, folder)
    record = intake.vet_folder(str(folder), "mallory", "gradient_checking")
    assert folder.is_dir() and not folder.is_symlink() and os.listdir(folder) == []
    assert course["secret"].exists() and "link" in record.notes[0]
    record_notebook = intake.Intake("mallory", "gradient_checking", str(folder))
    intake.choose_notebook(record_notebook, NOTEBOOK, RELEASE)
    assert record_notebook.notebook is None and "no notebook" in record_notebook.notes[0]


def test_a_student_folder_that_is_a_link_is_not_followed(course):
    student = course["folder"].parent
    os.rename(student, student.parent / "alice")  # the link points at another student's real work
    os.symlink(student.parent / "alice", student)
    record = intake.vet_folder(str(course["folder"]), "mallory", "gradient_checking")
    assert not student.is_symlink() and os.listdir(course["folder"]) == []
    assert (student.parent / "alice" / "gradient_checking" / NOTEBOOK).is_file()  # alice's work untouched
    assert "link" in record.notes[0]


def test_too_many_files_keep_the_first_and_move_the_rest(course):
    for number in range(intake.MAX_FILES + 20):
        (course["folder"] / f"f{number:04d}.txt").write_text("x")
    record = intake.vet_folder(str(course["folder"]), "mallory", "gradient_checking")
    assert len(os.listdir(course["folder"])) == intake.MAX_FILES
    assert any("more than" in reason for _, reason in record.refused)


def test_the_notebook_itself_as_a_link_to_the_master_is_refused(course):
    notebook = course["folder"] / NOTEBOOK
    notebook.unlink()
    os.symlink(course["secret"], notebook)
    record = intake.vet_folder(str(course["folder"]), "mallory", "gradient_checking")
    intake.choose_notebook(record, NOTEBOOK, RELEASE)
    assert record.notebook is None and not notebook.exists()


@pytest.mark.parametrize("layout, expected", [
    ({"my_answers.ipynb": 4}, "my_answers.ipynb"),
    ({"nested/gradient_checking.ipynb": 4}, "nested/gradient_checking.ipynb"),
    ({"draft.ipynb": 1, "final.ipynb": 4}, "final.ipynb"),
    ({"gradient_checking.ipynb": 0, "final.ipynb": 4}, "gradient_checking.ipynb"),  # the right name wins
])
def test_the_notebook_is_found_whatever_it_is_called(tmp_path, layout, expected):
    from tools.submissions import build_notebook, solution_sources, Submission
    folder = tmp_path / "submitted" / "s" / "gradient_checking"
    folder.mkdir(parents=True)
    solutions = list(solution_sources())
    for name, answered in layout.items():
        submission = Submission("s", "", base="release", cells={e: solution_sources()[e] for e in solutions[:answered]})
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(build_notebook(submission), folder / name)
    record = intake.Intake("s", "gradient_checking", str(folder))
    intake.choose_notebook(record, NOTEBOOK, RELEASE)
    assert os.path.relpath(record.notebook, folder) == expected
    assert bool(record.notes) == (expected != NOTEBOOK or len(layout) > 1)


def test_messages_lose_their_control_characters():
    from grader.text import one_line, printable
    assert printable("a\x1b[2Jb\x07c\u202ed") == "a [2Jb c d"
    assert one_line("x\ny\tz") == "x y z"
    assert printable("word " * 100, 40).endswith("…") and len(printable("word " * 100, 40)) <= 41
    assert not printable("word " * 100, 40)[:-1].endswith(" wor")


def test_each_submission_is_forgotten_once_nbgrader_has_written_it(course):
    """Intake's record (with the laid-out notebook) lives from nbgrader's pre-convert hook to its
    post-convert hook, not to the end of the process."""
    config = PyFileConfigLoader("nbgrader_config.py", path=REPO_ROOT).load_config()
    assert config.Autograde.post_convert_hook is intake.finish_submission
    assert config.Autograde.pre_convert_hook is intake.prepare_submission
    intake.load_release(course_directory(REPO_ROOT), "gradient_checking")  # as before every batch
    notebook = str(course["folder"] / NOTEBOOK)
    intake.prepare_submission(assignment="*", student="*", notebooks=[notebook])  # nbgrader passes its patterns
    record = intake._RECORDS[("mallory", "gradient_checking")]
    assert not record.failed and intake.notebook_to_grade(record).cells and record.graded
    intake.finish_submission(assignment="*", student="*", notebooks=[notebook])
    assert ("mallory", "gradient_checking") not in intake._RECORDS
