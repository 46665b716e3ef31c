# The two set-up-and-go commands of the README: `make demo` and `make test`.
# `make readme-demo` runs the demo and writes its table into README.md (`make demo` only checks it).
# Each creates .venv if needed and installs what it needs: the CPU build of torch first where no
# NVIDIA GPU is present, then this package with its extras. On a machine whose pip index serves
# CUDA builds by default, point TORCH_INDEX at a CPU-only index, e.g.
# `make test TORCH_INDEX="--index-url <your CPU wheel index>"`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_INDEX ?=

.PHONY: setup demo readme-demo simulate test test-slow test-benchmarl bench docs clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	python3 -m venv $(VENV)
	@if command -v nvidia-smi >/dev/null 2>&1; then \
	  echo "NVIDIA GPU found: torch comes from the package index"; \
	else \
	  $(PY) -m pip install -q $(TORCH_INDEX) "torch==2.13.0"; \
	fi
	$(PY) -m pip install -q -e ".[rllib,dev,docs,torchrl,tianshou]"
	touch $(STAMP)

DEMO_SUMMARY := runs/demo/summary.md
DEMO := RAY_USAGE_STATS_ENABLED=0 $(PY) -m trainers train --config cpu_small --name demo --overwrite

# The demo prints its table last, then one line saying whether README.md's copy matches this run
# (never failing: the numbers are bit-identical only on the same machine and build).
demo: setup
	$(DEMO)
	@$(PY) benchmarks/readme_demo.py --check $(DEMO_SUMMARY) --no-diff || true

readme-demo: setup
	$(DEMO)
	$(PY) benchmarks/readme_demo.py --write $(DEMO_SUMMARY)

simulate: setup
	$(PY) -m rbc_env.simulate

# `make test` skips the tests marked slow (over 20 s each on 2 cores: the benchmark scripts' smoke
# runs, the sweep interrupt, the GPU check's dry run); `make test-slow` runs only those. CI
# (.ci/run) runs both, so every test runs on every change.
test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	RAY_USAGE_STATS_ENABLED=0 $(PY) -m pytest -m "not slow"
	$(PY) -m pytest -q -p no:cacheprovider --doctest-modules rbc_env trainers
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet --site-dir $(VENV)/site

test-slow: setup
	RAY_USAGE_STATS_ENABLED=0 $(PY) -m pytest -m slow

# BenchMARL 1.5.2 needs torchrl 0.11 (the main venv has 0.14): its tests run in a venv of their own.
BM_VENV ?= .venv-benchmarl
$(BM_VENV)/.installed: setup.cfg pyproject.toml
	python3 -m venv $(BM_VENV)
	$(BM_VENV)/bin/pip install -q $(TORCH_INDEX) "torch==2.13.0"
	PIP_CONSTRAINT=$(CURDIR)/.ci/constraints-benchmarl.txt \
	  $(BM_VENV)/bin/pip install -q -e ".[dev,benchmarl]"
	touch $@

test-benchmarl: $(BM_VENV)/.installed
	RAY_USAGE_STATS_ENABLED=0 $(BM_VENV)/bin/python -m pytest -p no:cacheprovider -q \
	  tests/adapters/test_benchmarl.py tests/adapters/test_torchrl.py

docs: setup
	$(VENV)/bin/mkdocs build --strict

bench: setup
	$(PY) benchmarks/env_throughput.py
	RAY_USAGE_STATS_ENABLED=0 $(PY) benchmarks/training_throughput.py
	RAY_USAGE_STATS_ENABLED=0 $(PY) benchmarks/env_runner_profile.py

clean:
	rm -rf $(VENV) site .pytest_cache .hypothesis
