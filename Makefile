# Two entry points: `make demo` and `make test` (README). Everything else is a helper target.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
NATIVE_SRC := $(wildcard mpc/_native/*.c mpc/_native/*.h) setup.py mpc/_version.py
SYSTEM_PKGS := libssl-dev libgmp-dev python3-dev python3-venv valgrind
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test build lint typecheck pytest bench clean sysdeps proto

demo: build
	$(VENV)/bin/riskshare demo

test: build lint typecheck pytest

# System packages: installed with apt when running as root (as CI does), otherwise one instruction.
sysdeps:
	@missing=""; for p in $(SYSTEM_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing system packages; run: sudo apt-get install -y$$missing"; exit 1; fi; \
	fi
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Python >= 3.11 is required (found %d.%d)" % sys.version_info[:2])'

$(VENV)/.installed: pyproject.toml | sysdeps
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q -U pip setuptools wheel
	$(VPY) -m pip install -q -e '.[dev]' --config-settings editable_mode=compat
	touch $@

# The extension is rebuilt in place whenever a C source changes; -Werror is set in setup.py.
$(VENV)/.native: $(VENV)/.installed $(NATIVE_SRC)
	$(VPY) setup.py -q build_ext --inplace
	touch $@

build: $(VENV)/.native

lint: build
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check . || { echo "run: $(VENV)/bin/ruff format ."; exit 1; }

typecheck: build
	$(VENV)/bin/mypy mpc ledger incentive api benchmarks tests

pytest: build
	$(VENV)/bin/pytest -q -n 2 --dist loadgroup

bench: build
	$(VPY) -m benchmarks

clean:
	rm -rf build $(VENV) mpc/_native*.so .mypy_cache .ruff_cache .pytest_cache
