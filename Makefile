# Two commands do all the set-up on a fresh machine:
#   make example   runs the main example (examples/mnist_to_usps.py)
#   make test      runs the test suite (the quick tests, then the slow ones)
# (make docs builds the documentation site; make benchmark runs the quick benchmarks)
# Each creates the virtual environment in .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The real data sets: a folder laid out like ../shared/data (see README).
SKTRANSFER_DATA ?= $(abspath ../shared/data)
export SKTRANSFER_DATA

.PHONY: env bench-env docs-env test example benchmark docs lint

env: $(VENV)/.installed

# The benchmarks compare against skada: the "benchmark" extra installs it.
bench-env: $(VENV)/.benchmark

$(VENV)/.benchmark: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,benchmark]"
	touch $@

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

# Two steps, both always run: the quick tests, then the slow ones (minute-long:
# the README's snippets on MNIST/USPS, multi-seed accuracy). While working,
# the first step alone gives a quick answer.
test: env
	$(BIN)/python -m pytest -q -m "not slow"
	$(BIN)/python -m pytest -q -m slow

example: env
	$(BIN)/python examples/mnist_to_usps.py

# The documentation site (Sphinx, the example gallery executed): docs/_build/html.
docs-env: $(VENV)/.docs

$(VENV)/.docs: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,docs]"
	touch $@

docs: docs-env
	$(BIN)/python -m sphinx -W --keep-going -b html -q docs docs/_build/html

benchmark: bench-env
	$(BIN)/python -m benchmarks --quick

lint: env
	$(BIN)/ruff check .
