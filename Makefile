# The two commands of the README: `make demo` and `make test`. Each sets up .venv first
# (only python3 is needed), then runs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/labeld demo

test: $(VENV)/.installed
	$(PY) -m pytest -q -n 4

bench: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) bench/bench_raw.py
	$(PY) bench/bench_render.py
	$(PY) bench/bench_encoders.py
	$(PY) bench/bench_status.py

clean:
	rm -rf $(VENV) build *.egg-info
