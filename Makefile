# rsbench: `make demo` sets everything up and runs the embedded suite; `make test` runs the tests.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEBIAN_PACKAGES := wordnet-base wordnet-sense-index chromium sword-text-web sword-text-sparv libsword-utils

# The embedded suite and the tests use packaged models and data only. Offline mode stops
# Hugging Face libraries from retrying the network; set these to 0 to use hub names.
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1

.PHONY: setup demo smoke gate test test-fast bench clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages: $$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m harness.attacks.resources
	$(PY) -m harness.lm
	touch $(STAMP)

# Every suite runs even when a unit of an earlier one fails; the exit status is the first failure's.
DEMO_SUITES := embedded embedded-tasks embedded-generation
demo: setup
	@status=0; \
	for suite in $(DEMO_SUITES); do \
		$(VENV)/bin/rsbench run suites/$$suite.yaml; code=$$?; \
		if [ $$status -eq 0 ]; then status=$$code; fi; \
	done; \
	echo "Leaderboards: $(foreach suite,$(DEMO_SUITES),reports/$(suite)/leaderboard.html)"; \
	echo "(publish with: cp reports/<suite>/leaderboard.* leaderboard/<suite>/)"; \
	exit $$status

smoke: setup
	$(VENV)/bin/rsbench run suites/smoke.yaml

gate: smoke
	$(VENV)/bin/rsbench compare reports/smoke --baseline suites/baselines/smoke.json --suite suites/smoke.yaml

test: setup
	$(PY) -m pytest tests

test-fast: setup
	$(PY) -m pytest tests -m "not slow"

bench: setup
	$(PY) -m pytest benchmarks --benchmark-enable --benchmark-only -s

clean:
	rm -rf reports/* .pytest_cache
