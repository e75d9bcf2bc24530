# Two entry points: `make demo` runs the bundled example end to end, `make test` runs the suite.
# Both create .venv with the pinned versions of constraints.txt on first use.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test clean

# The dask extra too: tests/test_dask.py runs `run --dask` on a local cluster, and a test
# skipped for a missing package fails the suite (tests/conftest.py).
$(VENV)/.installed: pyproject.toml constraints.txt Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,dask]'
	touch $@

# The README's examples call `dunning-batch` by name: the last line says how to put it on the PATH.
demo: $(VENV)/.installed
	$(BIN)/dunning-batch demo --out demo-out --force
	@echo "dunning-batch is $(BIN)/dunning-batch: run '. $(BIN)/activate' to put it on the PATH for the README's examples"

# The suite runs on TEST_WORKERS processes (pytest-xdist, of the test extra): CI has 2 cores.
# --dist worksteal: each worker starts on its half of the suite in file order, so a module's
# fixtures are mostly built once, and an idle worker takes tests from the other's queue.
TEST_WORKERS ?= 2

test: $(VENV)/.installed
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

clean:
	rm -rf $(VENV) demo-out
