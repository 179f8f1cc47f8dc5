# Two commands on a fresh machine with Python 3.11+ and make:
#   make demo   set up, then run the pipeline on the bundled demo corpus
#   make test   set up, then run the test suite and the SLURM check (skipped without SLURM)
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
	PYTHON=$(CURDIR)/$(BIN)/python scripts/slurm_localhost.sh

clean:
	rm -rf outputs/* .snakemake
