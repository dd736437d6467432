# Set-up and everyday commands. `make run` and `make test` work on a fresh machine:
# they create .venv, install torch (the CPU wheel on disk) first, then the project.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 7860
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test install index ui eval bench calibrate browser clean help

help:
	@echo "make run    - set up, index corpus/ and start the chat UI on http://$(HOST):$(PORT)"
	@echo "make test   - set up and run the whole test suite (includes the eval gate)"
	@echo "make eval   - full eval report on the bundled article, with the naive baseline"
	@echo "make bench  - speed benchmarks (bench/)"
	@echo "make calibrate - refit the answer-or-decline models (1 to 5 hours on 2 cores; resumable)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch first: a plain dependency on torch would pull a multi-GB CUDA build. This
# machine's pip finds the CPU wheel on disk; elsewhere give TORCH_INDEX (see README).
TORCH_INDEX ?=
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check \
	  $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch==2.13.0
	$(BIN)/pip install --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

index: install
	$(BIN)/rag ingest corpus/

run: index
	$(BIN)/rag ui --host $(HOST) --port $(PORT)

ui: install
	$(BIN)/rag ui --host $(HOST) --port $(PORT)

# The UI tests drive Debian's Chromium (Playwright cannot download a browser here).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null || $(SUDO) apt-get install -y chromium \
	  || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)

# pytest exits 5 when it collects nothing: that is a failure, not a pass.
test: install browser
	$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

eval: install
	$(BIN)/rag eval --compare naive --out eval-out/article

bench: install browser
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.scale
	$(BIN)/python -m bench.users
	$(BIN)/python -m bench.responsive

calibrate: install
	$(BIN)/rag calibrate --work calibration-work

clean:
	rm -rf $(VENV) .rag eval-out bench/out *.egg-info
