"""Side by side, on this machine: the LLM engines that can write the embedded default's scripts.

Each candidate runs in a process of its own (so its load time and peak RSS are its own) on the
same requests: the script stage's real prompts for the first shard of configs/demo.yaml.
  1. the script stage itself, cold -> scripts per minute, valid scripts, generated tok/s
  2. prefill probe: every prompt with max_tokens=1 -> prompt tok/s (tokens actually computed)
Prints the CPU model and flags, then one JSON line per candidate and a Markdown table.

Usage: python scripts/bench_engines.py [--num-dialogues 12] [--candidates llama_cpp,vllm-float32]
A candidate is `llama_cpp`, `vllm-bfloat16` or `vllm-float32`; `vllm-bfloat16` is skipped on
a CPU without native bf16 unless named.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time

from bench_common import PeakMemory, machine

from dialogsmith import reaper
from dialogsmith.config import load_config
from dialogsmith.cpu import cpu_info


def candidates_for_cpu() -> list[str]:
    names = ["llama_cpp", "vllm-float32"]
    if cpu_info().native_bf16:
        names.insert(1, "vllm-bfloat16")
    return names


EXTRA = json.loads(os.environ.get("BENCH_ENGINE_OVERRIDES", "{}"))


def engine_overrides(candidate: str) -> dict:
    if candidate == "llama_cpp":
        return {"script.engine.kind": "llama_cpp", **EXTRA}
    dtype = candidate.removeprefix("vllm-")
    return {"script.engine.kind": "vllm", "script.engine.vllm.dtype": dtype}


def run_candidate(candidate: str, config_path: str, num: int) -> dict:
    from dialogsmith.engines.factory import make_engine
    from dialogsmith.stage import ShardBatch
    from dialogsmith.stages.plan import PlanStage
    from dialogsmith.stages.script import Attempt, ScriptStage

    config = load_config(
        config_path, num_dialogues=num, shard_size=num, **engine_overrides(candidate)
    )
    monitor = PeakMemory()
    monitor.start()
    started = time.perf_counter()
    engine = make_engine(config.script.engine)
    load_s = time.perf_counter() - started
    try:
        plan = PlanStage(config, "unused")
        plan.setup()
        batch = plan.process(ShardBatch(0, 0, num))
        stage = ScriptStage(config, "unused", engine=engine)
        shapes = [stage._shape(d.spec) for d in batch.dialogues]
        requests = [
            dataclasses.replace(stage._request(Attempt(d, s), 1), max_tokens=1)
            for d, s in zip(batch.dialogues, shapes, strict=True)
        ]
        t0 = time.perf_counter()
        stage.process(batch)  # first, on a cold cache
        script_s = time.perf_counter() - t0
        if hasattr(engine, "_llm"):  # vLLM keeps prefixes across calls; llama.cpp does not
            engine._llm.reset_prefix_cache()
        before = dataclasses.replace(engine.stats)
        t0 = time.perf_counter()
        engine.generate(requests)
        prefill_s = time.perf_counter() - t0
        computed = engine.stats.prompt_tokens_computed - before.prompt_tokens_computed
        all_prompt = engine.stats.prompt_tokens - before.prompt_tokens
    finally:
        engine.close()
        monitor.running = False
    tokens = batch.llm_tokens
    valid = sum(d.script is not None for d in batch.dialogues)
    return {
        "candidate": candidate,
        "dtype": getattr(engine, "dtype", "q4_k_m"),
        "load_s": round(load_s, 1),
        "prompt_tokens_per_dialogue": round(all_prompt / num, 1),
        "prompt_tokens_computed_per_dialogue": round(computed / num, 1),
        "prompt_tok_s": round(computed / prefill_s, 1),
        "script_requests": tokens["requests"],
        "script_prompt_tokens_computed_per_request": round(
            tokens["prompt_tokens_computed"] / tokens["requests"], 1
        ),
        "script_prompt_tokens_per_request": round(tokens["prompt_tokens"] / tokens["requests"], 1),
        "generated_tokens": tokens["generated_tokens"],
        "generated_tok_s": round(tokens["generated_tokens"] / script_s, 2),
        "scripts_per_minute": round(valid / script_s * 60, 2),
        "valid_scripts": f"{valid}/{num}",
        "script_stage_s": round(script_s, 1),
        "peak_rss_gib": monitor.peak_gib,
    }


def table(rows: list[dict]) -> str:
    head = (
        "| engine | dtype | load s | prompt tok/s | generated tok/s | scripts/min | valid | "
        "prompt tokens computed / all per request | peak RSS GiB |\n" + "|---" * 9 + "|"
    )
    lines = [head]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['candidate']} | | failed: {r['error'][:80]} | | | | | | |")
            continue
        lines.append(
            f"| {r['candidate']} | {r['dtype']} | {r['load_s']} | {r['prompt_tok_s']} | "
            f"{r['generated_tok_s']} | {r['scripts_per_minute']} | {r['valid_scripts']} | "
            f"{r['script_prompt_tokens_computed_per_request']} / "
            f"{r['script_prompt_tokens_per_request']} | {r['peak_rss_gib']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/demo.yaml")
    parser.add_argument("--num-dialogues", type=int, default=12)
    parser.add_argument("--candidates", help="comma-separated; default: those this CPU suits")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--timeout-s", type=float, default=1800)
    args = parser.parse_args()
    if args.one:
        reaper.guard()  # a candidate killed at its timeout takes its engine workers with it
        print(json.dumps(run_candidate(args.one, args.config, args.num_dialogues)))
        return
    print(json.dumps({"machine": machine()}))
    rows = []
    names = args.candidates.split(",") if args.candidates else candidates_for_cpu()
    for name in names:
        command = [
            sys.executable,
            __file__,
            "--one",
            name,
            "--config",
            args.config,
            "--num-dialogues",
            str(args.num_dialogues),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout_s)
            lines = done.stdout.strip().splitlines()
            row = (
                json.loads(lines[-1])
                if done.returncode == 0 and lines
                else {"candidate": name, "error": done.stderr.strip().splitlines()[-1:]}
            )
        except subprocess.TimeoutExpired:
            row = {"candidate": name, "error": f"timed out after {args.timeout_s:.0f} s"}
        if isinstance(row.get("error"), list):
            row["error"] = " ".join(row["error"])
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
