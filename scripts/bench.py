"""Benchmark the embedded job: wall time, seconds per dialogue per stage, WER, peak memory.

Usage: python scripts/bench.py [--config configs/demo.yaml] [--num-dialogues N] [--out DIR]
Prints one JSON object; peak memory is the largest summed RSS of this process and its
children (vLLM runs its engine in a child process), sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time

import psutil

from dialogsmith.config import load_config
from dialogsmith.query import connect
from dialogsmith.runner import run_job


class PeakMemory(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_bytes = 0
        self.running = True

    def run(self) -> None:
        me = psutil.Process()
        while self.running:
            try:
                procs = [me, *me.children(recursive=True)]
                total = sum(p.memory_info().rss for p in procs if p.is_running())
            except psutil.Error:
                continue
            self.peak_bytes = max(self.peak_bytes, total)
            time.sleep(0.2)


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default="configs/demo.yaml")
    parser.add_argument("--num-dialogues", type=int)
    parser.add_argument("--out")
    args = parser.parse_args()
    output = args.out or tempfile.mkdtemp(prefix="dialogsmith-bench-")
    config = load_config(args.config, num_dialogues=args.num_dialogues)
    monitor = PeakMemory()
    monitor.start()
    started = time.perf_counter()
    stats = run_job(config, output, progress=False)
    wall = time.perf_counter() - started
    monitor.running = False
    audio_s = stats["audio_hours"] * 3600
    report = {
        "output": output,
        "wall_seconds": round(wall, 1),
        "planned": stats["planned"],
        "kept": stats["kept"],
        "drops": stats["drops"],
        "audio_seconds": round(audio_s, 1),
        "stage_seconds_per_dialogue": stats["stage_seconds_per_dialogue"],
        "stage_seconds_total": stats["stage_seconds_total"],
        "wall_seconds_per_kept_dialogue": round(wall / max(stats["kept"], 1), 2),
        "real_time_factor": round(wall / max(audio_s, 1e-9), 3),
        "peak_rss_gib": round(monitor.peak_bytes / 1024**3, 2),
        "wer": wer_distribution(output) if stats["kept"] else {},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
