"""Benchmark script synthesis alone: scripts per minute, validity and rejection rates by reason,
distinct-1/2 and the near-duplicate rate, and one example script per attribute group.

Usage: python scripts/bench_scripts.py [--config configs/demo.yaml] [--num-dialogues 200]
       [--all-attributes] [--languages en,zh] [--batch 40] [--out report.json]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

from dialogsmith.config import load_config
from dialogsmith.qa.diversity import NearDuplicateIndex, diversity_report
from dialogsmith.stage import ShardBatch
from dialogsmith.stages.plan import PlanStage
from dialogsmith.stages.script import ScriptStage
from dialogsmith.taxonomy import TARGET_ATTRIBUTES, TAXONOMY


def script_text(dialogue) -> str:
    return " ".join(t.text for t in dialogue.script.turns)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/demo.yaml")
    parser.add_argument("--num-dialogues", type=int, default=200)
    parser.add_argument("--all-attributes", action="store_true")
    parser.add_argument("--languages", default="en")
    parser.add_argument("--batch", type=int, default=40)
    parser.add_argument(
        "--events", type=float, default=0.0, help="probability of each event kind per dialogue"
    )
    parser.add_argument("--out")
    args = parser.parse_args()
    overrides = {"num_dialogues": args.num_dialogues}
    if args.all_attributes:
        overrides["plan.attributes"] = list(TARGET_ATTRIBUTES)
    overrides["plan.languages"] = {lang: 1.0 for lang in args.languages.split(",")}
    if args.events:
        overrides["plan.events"] = dict.fromkeys(TAXONOMY.events(), args.events)
    config = load_config(args.config, **overrides)
    plan, script = PlanStage(config, "unused"), ScriptStage(config, "unused")
    plan.setup()
    started = time.perf_counter()
    script.setup()
    load_s = time.perf_counter() - started
    dialogues = []
    gen_started = time.perf_counter()
    for first in range(0, args.num_dialogues, args.batch):
        count = min(args.batch, args.num_dialogues - first)
        batch = script.process(plan.process(ShardBatch(0, first, count)))
        dialogues += batch.dialogues
    gen_s = time.perf_counter() - gen_started
    script.teardown()
    print(json.dumps(report(dialogues, load_s, gen_s), indent=2, ensure_ascii=False))


def example(d) -> dict:
    return {
        "target": f"{d.spec.target_attribute}={d.spec.target_value}",
        "events": [f"{e.kind}:{e.value}@turn{e.turn}" for e in d.spec.events],
        "language": d.spec.language,
        "topic": d.spec.topic,
        "turns": [f"{t.role}: {t.text}" for t in d.script.turns],
        "stressed_word": d.script.stressed_word,
        "overheard": d.script.overheard,
    }


def report(dialogues, load_s: float, gen_s: float) -> dict:
    kept = [d for d in dialogues if not d.rejected]
    index, duplicates = NearDuplicateIndex(), {}
    for d in kept:
        earlier = index.add(d.dialogue_id, script_text(d), d.spec.language)
        if earlier:
            duplicates[d.dialogue_id] = earlier
    unique = {d.dialogue_id: script_text(d) for d in kept if d.dialogue_id not in duplicates}
    diversity = diversity_report(unique, len(duplicates))
    attempts = Counter(d.script.attempts for d in kept)
    examples = {}
    for d in kept:
        groups = [TAXONOMY[d.spec.target_attribute].group]
        groups += [TAXONOMY[e.kind].group for e in d.spec.events if e.kind != "backchannel"]
        for group in groups:
            examples.setdefault(group, example(d))
    n = len(dialogues)
    return {
        "scripts": n,
        "engine_load_seconds": round(load_s, 1),
        "generation_seconds": round(gen_s, 1),
        "scripts_per_minute": round(60 * n / gen_s, 2),
        "kept": len(kept),
        "valid_first_try_rate": round(attempts.get(1, 0) / n, 3),
        "valid_after_resample_rate": round(len(kept) / n, 3),
        "rejected_by_reason": dict(Counter(d.rejection.reason for d in dialogues if d.rejected)),
        "distinct_1": round(diversity.distinct_1, 4),
        "distinct_2": round(diversity.distinct_2, 4),
        "near_duplicates": len(duplicates),
        "duplicate_rate": round(len(duplicates) / max(len(kept), 1), 4),
        "examples": examples,
    }


if __name__ == "__main__":
    main()
