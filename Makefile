# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv (preferring Python 3.12), install creditrisk with its extras, then run.

PYTHON ?= $(shell for p in python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) \
	python3.11 python3; do \
	if $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then \
	echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench sample model clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 not found"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,spark,sql]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/creditrisk demo

# Two workers (pytest-xdist), a file's tests in one of them: both cores busy.
test: $(STAMP)
	tools/test-services.sh
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_synth.py

# Regenerate the packaged sample (10,000 enterprises, 2018-2025).
sample: $(STAMP)
	$(BIN)/creditrisk generate --n 10000 --seed 7 --start 2018-01-01 --end 2025-12-31 \
		--out src/creditrisk/data/sample --overwrite

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache

# Retrain the reference model on the sample (models/sample -> src/creditrisk/model/sample).
model: $(STAMP)
	$(BIN)/creditrisk train --data data/sample --out src/creditrisk/model/sample --overwrite
