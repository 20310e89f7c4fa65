"""Benchmark the scene and verification on many dialogues with real scripts.

Usage: python scripts/bench_scene.py [--num-dialogues 200] [--scripts FILE] [--report FILE]
       [--limit N] [--labels-only]

Phase 1 writes the scripts with the embedded LLM (plan + script stages over
configs/bench_scene.yaml) and caches them as JSON lines in --scripts; a rerun reuses them.
Phase 2 voices, renders, mixes and verifies every scripted dialogue and prints one JSON report:
scene RTF, gaps and overlaps against the configured distribution, measured against configured
SNR, verification pass rates, and Whisper WER on the mix at fixed SNRs and in a room, and the
label-fidelity report (`bench_labels_report.py`; alone with --labels-only, `make bench-labels`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from dialogsmith.config import JobConfig, load_config
from dialogsmith.records import Dialogue
from dialogsmith.serialize import dumps, loads
from dialogsmith.stage import ShardBatch

CONFIG = "configs/bench_scene.yaml"


def write_scripts(config: JobConfig, path: Path, batch_size: int = 20) -> None:
    from dialogsmith.stages.plan import PlanStage
    from dialogsmith.stages.script import ScriptStage

    plan, script = PlanStage(config, "unused"), ScriptStage(config, "unused")
    plan.setup()
    script.setup()
    started = time.perf_counter()
    with path.open("w") as out:
        for first in range(0, config.num_dialogues, batch_size):
            count = min(batch_size, config.num_dialogues - first)
            batch = script.process(plan.process(ShardBatch(first // batch_size, first, count)))
            for dialogue in batch.dialogues:
                out.write(dumps(dialogue) + "\n")
            out.flush()
            done = first + count
            print(f"scripts {done}/{config.num_dialogues} {time.perf_counter() - started:.0f} s")
    script.teardown()


def read_scripts(path: Path) -> list[Dialogue]:
    return [loads(Dialogue, line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default=CONFIG)
    parser.add_argument("--num-dialogues", type=int, default=200)
    parser.add_argument("--scripts", default="bench-scene-scripts.jsonl")
    parser.add_argument("--report", default=None)
    parser.add_argument("--scripts-only", action="store_true")
    parser.add_argument(
        "--labels-only", action="store_true", help="Only the label-fidelity report."
    )
    parser.add_argument(
        "--limit", type=int, help="Use only the first N scripts (a quick re-check)."
    )
    args = parser.parse_args()
    config = load_config(args.config, num_dialogues=args.num_dialogues)
    path = Path(args.scripts)
    if not path.exists():
        write_scripts(config, path)
    if args.scripts_only:
        return
    from bench_scene_report import report  # phase 2 lives next to this file

    result = report(config, read_scripts(path)[: args.limit], labels_only=args.labels_only)
    text = json.dumps(result, indent=2)
    print(text)
    if args.report:
        Path(args.report).write_text(text)


if __name__ == "__main__":
    main()
