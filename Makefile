# Two commands on a fresh machine with Python 3.11+ and make:
#   make demo   set up, then run the pipeline on the bundled demo corpus
#   make test   set up, then run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/.installed

demo: setup
	$(BIN)/interplay run

test: setup
	$(BIN)/python -m pytest

clean:
	rm -rf outputs/* .snakemake
