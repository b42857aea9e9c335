# The two commands the README opens with: `make demo` and `make test`.
# The virtual environment is cached outside the clone, keyed on the hash of the
# requirements files, so a fresh clone (CI) reuses it; .venv links to it.
PYTHON ?= python3
CACHE_HOME ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/enhance-studio
REQ_HASH := $(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
PROJECT_HASH := $(shell sha256sum pyproject.toml | cut -c1-16)
VENV_CACHE := $(CACHE_HOME)/venv-$(REQ_HASH)
VENV := .venv
PY := $(VENV)/bin/python
export GRADIO_ANALYTICS_ENABLED ?= False

.PHONY: demo test test-fast lint bench venv clean

venv: $(VENV_CACHE)/.complete
	@[ -L $(VENV) ] && [ "$$(readlink $(VENV))" = "$(VENV_CACHE)" ] || { rm -rf $(VENV); ln -s $(VENV_CACHE) $(VENV); }
	@# The cached environment is shared by clones: point its editable install at this one, and
	@# reinstall when pyproject.toml (entry points, package data) changes.
	@[ "$$(cat $(VENV)/.studio-clone 2>/dev/null)" = "$(CURDIR) $(PROJECT_HASH)" ] || { \
	  $(PY) -m pip install --quiet --no-deps --no-build-isolation -e . 2>&1 | grep -v "is ignored" || true; \
	  echo "$(CURDIR) $(PROJECT_HASH)" > $(VENV)/.studio-clone; }

# No prerequisites: the hash in the folder name already stands for the requirements' content
# (a fresh clone's newer file times must not rebuild a good cache).
$(VENV_CACHE)/.complete:
	rm -rf $(VENV_CACHE)
	$(PYTHON) -m venv $(VENV_CACHE)
	$(VENV_CACHE)/bin/pip install --quiet --upgrade pip setuptools wheel
	$(VENV_CACHE)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

# Offline machines reach small upstream weights through a mirror folder when one sits beside the clone.
SHARED_WEIGHTS := $(wildcard $(CURDIR)/../shared/weights)
export STUDIO_WEIGHTS_MIRROR ?= $(SHARED_WEIGHTS)

# The demo is yours alone: its Models tab may download weights (off by default on a server).
demo: venv
	$(PY) -m studio fetch --backend ncnn > /dev/null
	STUDIO_ALLOW_DOWNLOADS=$${STUDIO_ALLOW_DOWNLOADS:-1} $(PY) app.py

# Every test: the precision-sensitive ones under each forced machine class (AVX2-only CPUs and AVX-512 BF16
# CPUs pick different defaults; both must pass), the rest once. Without a GPU `auto` resolves to one of the two, so
# running the precision tests a third time under it would repeat one of these passes.
test: venv
	$(PY) -m ruff check studio tests app.py benchmarks
	$(PY) -m pytest -q -m "not precision"
	STUDIO_MACHINE_CLASS=cpu $(PY) -m pytest -q -m precision
	STUDIO_MACHINE_CLASS=cpu-bf16 $(PY) -m pytest -q -m precision

# Unit tests only (no real networks, app, browser or subprocesses): under a minute.
test-fast: venv
	$(PY) -m pytest -q -m "not slow and not network and not browser"

lint: venv
	$(PY) -m ruff check studio tests app.py benchmarks
	$(PY) -m ruff format --check studio tests app.py

bench: venv
	$(VENV)/bin/studio bench

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
