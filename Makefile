# Two commands matter: `make demo` (the main job) and `make test` (everything CI runs).
# Each first installs the Debian packages it needs (tools/system-packages) and creates .venv from
# pyproject.toml if it is missing or stale. `make test-quick` is the inner loop (about a minute).

VENV := .venv
BIN := $(VENV)/bin
# Debian's Python: every user can run it, so an instructor who is not root can use this .venv too.
SYSTEM_PYTHON ?= /usr/bin/python3
# nbgrader shells out to `alembic` to create the gradebook, so the venv's bin/ must be on PATH.
export PATH := $(abspath $(BIN)):$(PATH)
PYTHON := $(BIN)/python
NBGRADER := $(BIN)/nbgrader
ASSIGNMENT := gradient_checking
LOG := demo.log

.PHONY: demo test test-quick venv system-demo system-test figures release sample-class autograde \
        autograde-parallel feedback grades site clean

# The main job, quietly: the full logs go to demo.log.
demo: system-demo venv
	@rm -rf $(LOG) gradebook.db grades.csv feedback autograded/*/ autograded/summary.json
	@echo "[1/5] release: nbgrader generate_assignment (logs: $(LOG))"
	@$(NBGRADER) generate_assignment $(ASSIGNMENT) --force >>$(LOG) 2>&1 || { tail -30 $(LOG); exit 1; }
	@echo "[2/5] autograde: nbgrader autograde, every kernel in the sandbox"
	@GRADER_PROGRESS_FD=3 $(NBGRADER) autograde $(ASSIGNMENT) --force 3>&2 >>$(LOG) 2>&1 || { tail -30 $(LOG); exit 1; }
	@echo "[3/5] feedback: nbgrader generate_feedback"
	@$(NBGRADER) generate_feedback $(ASSIGNMENT) --force >>$(LOG) 2>&1 || { tail -30 $(LOG); exit 1; }
	@echo "[4/5] grades: nbgrader export -> grades.csv"
	@$(NBGRADER) export >>$(LOG) 2>&1 || { tail -30 $(LOG); exit 1; }
	@$(PYTHON) -m grader.report --course-root . --brief
	@echo "[5/5] site: python -m grader.site"
	@$(PYTHON) -m grader.site --course-root . --out site 2>>$(LOG)

test: system-test venv
	$(PYTHON) -m pytest -n 2 --dist loadgroup

test-quick: venv
	$(PYTHON) -m pytest -m "not slow and not browser"

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PYTHON) || $(SYSTEM_PYTHON) -m venv $(VENV)
	@echo "Installing the Python packages into $(VENV) (log: $(VENV)/install.log)"
	@{ $(PYTHON) -m pip install --upgrade pip && $(PYTHON) -m pip install -e '.[test]'; } >$(VENV)/install.log 2>&1 \
		|| { tail -30 $(VENV)/install.log; exit 1; }
	@touch $@

system-demo:
	@tools/system-packages demo

system-test:
	@tools/system-packages test

# The three fixed pictures committed next to the notebook (drawn by the instructor-side grader/diagrams.py).
figures: venv
	$(PYTHON) -m grader.diagrams source/$(ASSIGNMENT)/figures

# The student version, from the master notebook (the gradebook must not hold submissions yet).
release: venv
	$(NBGRADER) generate_assignment $(ASSIGNMENT) --force

# The sample class in submitted/, built from the release and tests/sample_class.
sample-class: venv
	$(PYTHON) -m tools.submissions sample-class --course-root .

autograde: system-demo venv
	$(NBGRADER) autograde $(ASSIGNMENT) --force

# The same grading on a Dask LocalCluster, one worker per core; re-runs skip unchanged submissions.
autograde-parallel: system-demo venv
	$(PYTHON) -m grader.parallel $(ASSIGNMENT)

feedback: venv
	$(NBGRADER) generate_feedback $(ASSIGNMENT) --force

grades: venv
	$(NBGRADER) export

# The offline site of rendered notebooks, feedback and the class page (needs `make demo`'s outputs).
site: venv
	$(PYTHON) -m grader.site --course-root . --out site

clean:
	rm -rf autograded/*/ autograded/summary.json feedback/ gradebook.db grades.csv site/ $(LOG)
