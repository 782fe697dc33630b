# fateops — the two commands of the README are `make demo` and `make test`; each installs what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_VERSION ?= 3.11
CACHE          ?= $(HOME)/.cache/fateops
VENV           := .venv
PY             := $(VENV)/bin/python
UV             := $(CACHE)/tools/bin/uv
STAMP          := $(VENV)/.fateops-$(shell cat requirements.txt constraints.txt pyproject.toml | sha256sum | cut -c1-12)
PYTEST_ARGS    ?=

export FATEOPS_CACHE_DIR := $(CACHE)
export GX_ANALYTICS_ENABLED := false

.PHONY: help sysdeps sysdeps-demo venv engine harness test test-unit demo demo-down lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	@python3 -m venv $(CACHE)/tools && $(CACHE)/tools/bin/pip install -q uv

$(STAMP): requirements.txt constraints.txt pyproject.toml | $(UV)
	@echo "==> Airflow-side venv ($(VENV))"
	@py=$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$(PYTHON_VERSION).*/bin/python 2>/dev/null | tail -1); \
	  py=$${py:-$$(command -v python$(PYTHON_VERSION))}; \
	  [ -n "$$py" ] || { echo "Python $(PYTHON_VERSION) not found: install it (pyenv install $(PYTHON_VERSION))" >&2; exit 2; }; \
	  [ -x $(PY) ] || $(UV) venv -q -p "$$py" $(VENV)
	@$(UV) pip install -q --python $(PY) -r requirements.txt -c constraints.txt
	@$(UV) pip install -q --python $(PY) --no-deps -e .
	@rm -f $(VENV)/.fateops-* && touch $@

sysdeps: ## install the Debian packages the tests use (system-packages.txt)
	@scripts/sysdeps.sh test

sysdeps-demo:
	@scripts/sysdeps.sh demo

venv: $(STAMP) ## create/refresh the Airflow-side venv

engine: venv ## install the local FATE 2.2 engine (own venv, cached)
	@$(VENV)/bin/fateops engine install >/dev/null

harness: venv ## build/fetch the real-peers harness (kube-apiserver, vcsim, helm; cached)
	@$(PY) -m tests.harness prepare

test: sysdeps venv engine harness ## run the whole test-suite (unit + real engine + Airflow + harness)
	@$(PY) -m pytest $(PYTEST_ARGS)

test-unit: venv ## only the tests that need no services
	@$(PY) -m pytest tests/unit $(PYTEST_ARGS)

demo: sysdeps-demo venv engine ## run the credit-card pipeline end to end on two local sites + the Exchange, through Airflow's REST API
	@$(VENV)/bin/fateops demo up

demo-down: venv ## stop everything `make demo` started
	@$(VENV)/bin/fateops demo down

lint: venv ## ruff
	@$(VENV)/bin/ruff check plugins dags tests bench

bench: venv engine ## benchmarks (print ratios measured side by side)
	@$(PY) bench/parity.py

clean: ## remove this checkout's state (engine home, Airflow home, data, reports)
	rm -rf .fateops
