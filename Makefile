# The two commands of the README: `make demo` and `make test`. Each sets up .venv first
# (only python3 is needed), then runs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint ruff imports types system-deps bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/labeld demo

# The architecture's rules, then the suite. Each rule is quick (about a second each) and stops
# `make test` with the tool's findings and a line saying which rule failed and where it lives.
test: lint system-deps
	$(PY) -m pytest -q -n 4

# What the tests need from Debian beside Python: Chromium, driven by Playwright for the console
# tests, and Mosquitto, the broker of the fleet channel's tests. Installed when missing and this
# machine can (root with apt-get); otherwise the tests say what is missing.
SYSTEM_DEPS := chromium:chromium mosquitto:mosquitto mosquitto_passwd:mosquitto
system-deps:
	@missing=$$(for dep in $(SYSTEM_DEPS); do command -v $${dep%%:*} >/dev/null || \
	    [ -x /usr/sbin/$${dep%%:*} ] || echo $${dep#*:}; done | sort -u); \
	[ -z "$$missing" ] || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      $$missing >/dev/null; } ; } || echo >&2 "make: missing $$missing; the tests that" \
	    "need them will fail: apt-get install $$missing"

lint: ruff imports types

ruff: $(VENV)/.installed
	@$(VENV)/bin/ruff check --quiet --output-format=concise . || { echo >&2 \
	    "make: ruff check failed (style and bug patterns, [tool.ruff] in pyproject.toml)"; exit 1; }

# lint-imports reads the installed layout, where drivers/ and plugins/ are labeld.drivers and
# labeld.plugins; an editable install maps them from the top level, which the import graph
# cannot follow. So it runs in $(IMPORTS_VIEW): a labeld/ of links to labeld/'s entries plus
# drivers/ and plugins/ (remade each run, so new modules are seen).
IMPORTS_VIEW := build/import-view
imports: $(VENV)/.installed
	@rm -rf $(IMPORTS_VIEW) && mkdir -p $(IMPORTS_VIEW)/labeld
	@ln -s $(CURDIR)/labeld/* $(IMPORTS_VIEW)/labeld/
	@ln -s $(CURDIR)/drivers $(CURDIR)/plugins $(IMPORTS_VIEW)/labeld/
	@cd $(IMPORTS_VIEW) && if $(abspath $(VENV))/bin/lint-imports --no-cache \
	    $(CURDIR)/pyproject.toml > lint-imports.txt 2>&1; then sed -n '/^Contracts: /,$$p' \
	    lint-imports.txt; else sed -n '/^Contracts: /,$$p' lint-imports.txt >&2; \
	    echo >&2 "make: lint-imports failed (the rooms' import rules, [tool.importlinter] in" \
	    "pyproject.toml; full report: $(IMPORTS_VIEW)/lint-imports.txt)"; exit 1; fi

types: $(VENV)/.installed
	@$(VENV)/bin/mypy || { echo >&2 \
	    "make: mypy --strict failed (the plugin contract, [tool.mypy] in pyproject.toml)"; exit 1; }

bench: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) bench/bench_raw.py
	$(PY) bench/bench_render.py
	$(PY) bench/bench_encoders.py
	$(PY) bench/bench_status.py
	$(PY) bench/bench_console.py

clean:
	rm -rf $(VENV) build *.egg-info
