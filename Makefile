# Two commands matter: `make demo` (the main job) and `make test` (everything CI runs).
# Every target creates .venv from pyproject.toml first if it is missing or stale.

VENV := .venv
BIN := $(VENV)/bin
# nbgrader shells out to `alembic` to create the gradebook, so the venv's bin/ must be on PATH.
export PATH := $(abspath $(BIN)):$(PATH)
PYTHON := $(BIN)/python
NBGRADER := $(BIN)/nbgrader
ASSIGNMENT := gradient_checking
SOURCE_NB := source/$(ASSIGNMENT)/$(ASSIGNMENT).ipynb

.PHONY: demo test venv figures release sample-class autograde autograde-parallel feedback grades site clean

demo: release autograde feedback grades
	$(PYTHON) -m grader.report --course-root .
	$(MAKE) site

# The offline site of rendered notebooks, feedback and the class page (needs `make demo`'s outputs).
site: $(VENV)/.installed
	$(PYTHON) -m grader.site --course-root . --out site

test: $(VENV)/.installed
	$(PYTHON) -m pytest

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[test]'
	touch $@

# The two diagrams committed next to the notebook (drawn by the instructor-side grader/diagrams.py).
figures: $(VENV)/.installed
	$(PYTHON) -m grader.diagrams source/$(ASSIGNMENT)/figures

# The student version, from the master notebook.
release: $(VENV)/.installed
	$(NBGRADER) generate_assignment $(ASSIGNMENT) --force

# The sample class in submitted/, built from the release and tests/corpus/sample_class.
sample-class: $(VENV)/.installed
	$(PYTHON) -m tools.submissions sample-class --course-root .

autograde: $(VENV)/.installed
	$(NBGRADER) autograde $(ASSIGNMENT) --force

# The same grading on a Dask LocalCluster, one worker per core; re-runs skip unchanged submissions.
autograde-parallel: $(VENV)/.installed
	$(PYTHON) -m grader.parallel $(ASSIGNMENT)

feedback: $(VENV)/.installed
	$(NBGRADER) generate_feedback $(ASSIGNMENT) --force

grades: $(VENV)/.installed
	$(NBGRADER) export

clean:
	rm -rf autograded/*/ feedback/ gradebook.db grades.csv site/
