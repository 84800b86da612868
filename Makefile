# LLM 901 labs. The two commands: `make demo` and `make test` (both set everything up first).
SHELL := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
COURSE ?= build/course
WEEK   ?=
WEEK_ARG = $(if $(WEEK),--week $(WEEK),)

# Offline by design, and every cache inside the project (nothing written to ~).
export PATH := $(BIN):$(PATH)
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HOME := $(CURDIR)/build/cache/huggingface
export IPYTHONDIR := $(CURDIR)/build/cache/ipython
export JUPYTER_CONFIG_DIR := $(CURDIR)/build/cache/jupyter/config
export JUPYTER_DATA_DIR := $(CURDIR)/build/cache/jupyter/data
export JUPYTER_RUNTIME_DIR := $(CURDIR)/build/cache/jupyter/runtime
export MPLCONFIGDIR := $(CURDIR)/build/cache/matplotlib
export MPLBACKEND := Agg
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv demo test lint data models lab validate release student check grade feedback export bench new-week clean

help:
	@echo "make demo      release w02-1, grade the bundled sample submissions, print the table"
	@echo "make test      the whole test suite (what CI runs)"
	@echo "make lab       JupyterLab on the weeks/ folder"
	@echo "make validate NB=path/to/notebook.ipynb [EXPERIMENT=1|FULL=1]   run its visible tests as graded (exit 1 on failure)"
	@echo "make release WEEK=w02-1 | make student WEEK=w02-1 | make check [WEEK=w02-1]"
	@echo "make grade WEEK=w02-1 SUBMISSIONS=dir [COURSE=build/course] [WORKERS=N] [SCHEDULER=tcp://...] [FORCE=1]"
	@echo "make feedback WEEK=w02-1 | make export"
	@echo "make new-week WEEK=w03-2 SLUG=diffusion-lm"
	@echo "make data      build the toy data sets into build/data and verify them against data_manifests/"
	@echo "make models    retrain the tiny target/draft LMs into shared/assets/models (about 12-20 min)"
	@echo "make bench [WEEK=w02-1 N=40]   grading speed vs plain nbgrader -> bench/results.md"
	@echo "make bench MODES=before,skip,after WEEK=all N=8   experiment skipping + kernel prestart, every lab"

venv: $(STAMP)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first and alone: this exact version is a CPU build; anything else pulls a CUDA build.
	$(BIN)/python -m pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

demo: $(STAMP)
	$(BIN)/llm901-grader demo --week $(or $(WEEK),w02-1)

# Both cores (pytest-xdist; see tests/conftest.py); install and lint are timed here and reported with
# pytest's own phases at the end of the run. PYTEST_ARGS="-n 0" runs serially.
PYTEST_ARGS ?= -n 2 --dist loadgroup
test:
	@t0=$$(date +%s%N); $(MAKE) --no-print-directory venv || exit $$?; t1=$$(date +%s%N); \
	echo "install: $$(( (t1 - t0) / 1000000000 )) s (load average $$(cut -d' ' -f1 /proc/loadavg))"; \
	echo "$(BIN)/ruff check grader shared tests"; $(BIN)/ruff check grader shared tests || exit $$?; t2=$$(date +%s%N); \
	echo "$(BIN)/python -m pytest -q $(PYTEST_ARGS)"; \
	LLM901_INSTALL_MS=$$(( (t1 - t0) / 1000000 )) LLM901_LINT_MS=$$(( (t2 - t1) / 1000000 )) \
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check grader shared tests

# The staff's preview (students open a release zip: README.md). Without MPLBACKEND=Agg (exported
# above for batch runs), so that the kernel's figures show inline.
lab: $(STAMP)
	env -u MPLBACKEND $(BIN)/jupyter lab --notebook-dir=weeks $(if $(filter 0,$(shell id -u)),--allow-root,)

validate: $(STAMP)
	@test -n "$(NB)" || { echo "usage: make validate NB=path/to/notebook.ipynb"; exit 2; }
	$(BIN)/llm901-grader validate $(if $(FULL),--full,) $(if $(EXPERIMENT),--experiment,) "$(NB)"

release: $(STAMP)
	$(BIN)/llm901-grader release $(WEEK_ARG) --course $(COURSE)

student: $(STAMP)
	$(BIN)/llm901-grader student $(WEEK_ARG)

check: $(STAMP)
	$(BIN)/llm901-grader check $(WEEK_ARG)

grade: $(STAMP)
	@test -n "$(WEEK)" -a -n "$(SUBMISSIONS)" || { echo "usage: make grade WEEK=w02-1 SUBMISSIONS=dir [COURSE=...]"; exit 2; }
	$(BIN)/llm901-grader grade --week $(WEEK) --course $(COURSE) $(if $(WORKERS),--workers $(WORKERS),) $(if $(SCHEDULER),--scheduler $(SCHEDULER),) $(if $(FORCE),--force,) $(if $(ROSTER),--roster "$(ROSTER)",) "$(SUBMISSIONS)"

feedback: $(STAMP)
	$(BIN)/llm901-grader feedback --week $(WEEK) --course $(COURSE)

export: $(STAMP)
	$(BIN)/llm901-grader export --course $(COURSE) $(if $(WEEK),--week $(WEEK),) $(if $(ROSTER),--roster "$(ROSTER)",)

data: $(STAMP)
	$(BIN)/python -m llm901_shared.data build

models: $(STAMP)
	$(BIN)/python -m llm901_shared.pretrained train

bench: $(STAMP)
	$(BIN)/python -m llm901_grader.bench --week $(or $(WEEK),w02-1) -n $(or $(N),40) $(if $(MODES),--modes $(MODES),)

new-week: $(STAMP)
	@test -n "$(WEEK)" -a -n "$(SLUG)" || { echo "usage: make new-week WEEK=w03-2 SLUG=diffusion-lm"; exit 2; }
	$(BIN)/llm901-grader new-week $(WEEK) $(SLUG)

clean:
	rm -rf build
