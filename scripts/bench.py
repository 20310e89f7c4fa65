"""Benchmark the embedded job: wall time, seconds per dialogue per stage, WER, peak memory.

Usage: python scripts/bench.py [--config configs/demo.yaml] [--num-dialogues N] [--out DIR]
Prints one JSON object: the CPU (model, capability, flags), hours of kept, verified dialogue
audio per wall-clock hour, seconds per dialogue per stage, LLM tokens, WER and peak memory (the
largest summed RSS of this process and its children, sampled every 0.2 s).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import yaml
from bench_common import PeakMemory, machine

from dialogsmith import reaper
from dialogsmith.config import load_config
from dialogsmith.query import connect
from dialogsmith.runner import run_job


def wer_distribution(output: str) -> dict:
    con = connect(output)
    rows = con.execute(
        "SELECT role, count(*), avg(wer), quantile_cont(wer, [0.5, 0.9, 1.0]), "
        "avg((wer = 0)::int) FROM turns GROUP BY role ORDER BY role"
    ).fetchall()
    return {
        role: {
            "turns": n,
            "mean": round(mean, 4),
            "p50_p90_max": [round(q, 4) for q in qs],
            "share_exact": round(exact, 3),
        }
        for role, n, mean, qs, exact in rows
    }


def kept_audio_seconds(output: str) -> float:
    """Audio of the dialogues that passed verification (kept or flagged) and left dedup."""
    return float(connect(output).execute("SELECT sum(duration_s) FROM dialogues").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/demo.yaml")
    parser.add_argument("--num-dialogues", type=int)
    parser.add_argument("--out")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override, e.g. --set script.engine.kind=llama_cpp (YAML value)",
    )
    args = parser.parse_args()
    output = args.out or tempfile.mkdtemp(prefix="dialogsmith-bench-")
    overrides = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.set)}
    config = load_config(args.config, num_dialogues=args.num_dialogues, **overrides)
    reaper.guard()
    monitor = PeakMemory()
    monitor.start()
    started = time.perf_counter()
    stats = run_job(config, output, progress=False)
    wall = time.perf_counter() - started
    monitor.running = False
    audio_s = stats["audio_hours"] * 3600
    kept_audio_s = kept_audio_seconds(output) if stats["kept"] else 0.0
    report = {
        "machine": machine(),
        "overrides": overrides,
        "output": output,
        "wall_seconds": round(wall, 1),
        "planned": stats["planned"],
        "kept": stats["kept"],
        "drops": stats["drops"],
        "audio_seconds": round(audio_s, 1),
        "kept_audio_seconds": round(kept_audio_s, 1),
        "kept_audio_hours_per_wall_hour": round(kept_audio_s / wall, 3),
        "stage_seconds_per_dialogue": stats["stage_seconds_per_dialogue"],
        "stage_seconds_total": stats["stage_seconds_total"],
        "llm_tokens_per_dialogue": stats["llm_tokens_per_dialogue"],
        "wall_seconds_per_kept_dialogue": round(wall / max(stats["kept"], 1), 2),
        "real_time_factor": round(wall / max(audio_s, 1e-9), 3),
        "peak_rss_gib": monitor.peak_gib,
        "wer": wer_distribution(output) if stats["kept"] else {},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
