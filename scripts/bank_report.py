"""How far apart the voices of a config's user timbre bank sound, as the voice stage grows it.

Prints the bank's size per (gender, age) cell and base, the collisions in the job's speaker
pool, and `tts_backends.timbre.bank_report` figures (min and median pairwise timbre
distance, mean within-voice distance, share of pairs farther apart than a voice is from
itself on other words) over N voices of one cell, N of one base in that cell (the hardest
case: one engine voice, one settings range) and N spread over the whole bank. Renders with
the real TTS backends.

usage: .venv/bin/python scripts/bank_report.py [--config configs/demo.yaml] [-n 6]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

from dialogsmith.config import load_config
from dialogsmith.stages.voice import VoiceStage
from dialogsmith.tts_backends.timbre import REPORT_SENTENCES, TimbreSpec, bank_report

SENTENCE = "The weather is lovely today, and I think we should go for a walk."


def grown_bank(config_path: str | None) -> tuple[VoiceStage, list[TimbreSpec], float]:
    """The voice stage set up for the config, its bank's timbres and the setup seconds."""
    from dialogsmith.tts_backends.timbre import build_timbre_bank

    config = load_config(config_path)
    stage = VoiceStage(config, "unused")
    start = time.perf_counter()
    stage.setup()
    seconds = time.perf_counter() - start
    bank = build_timbre_bank(config.voice.user_bank_bases, stage.per_base, config.seed)
    return stage, bank, seconds


def cell_sizes(bank: list[TimbreSpec]) -> dict[str, int]:
    counts = Counter(f"{s.gender}/{s.age}/{s.base}" for s in bank)
    return dict(sorted(counts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="configs/demo.yaml")
    parser.add_argument("-n", type=int, default=6, help="voices per bank_report")
    parser.add_argument("--cell", default="male/middle_aged", help="gender/age of the cell")
    args = parser.parse_args()
    stage, bank, seconds = grown_bank(args.config)
    gender, age = args.cell.split("/")
    cell = [s for s in bank if (s.gender, s.age) == (gender, age)]
    own_base = [s for s in cell if s.base == cell[0].base]
    print(f"per base {stage.per_base}, bank {len(bank)} timbres, setup {seconds:.3f} s")
    print(f"pool {len(stage.pool)} identities, {stage.pool_collisions} share a voice")
    print(json.dumps(cell_sizes(bank), indent=1))
    print(f"sentences: {SENTENCE!r} against {REPORT_SENTENCES}")
    for name, voices in [
        (f"one cell ({args.cell}, {len(cell)} voices)", cell),
        (f"one base in it ({own_base[0].base}, {len(own_base)} voices)", own_base),
        (f"whole bank ({len(bank)} voices)", bank),
    ]:
        start = time.perf_counter()
        figures = bank_report(voices, SENTENCE, args.n)
        figures = {k: round(v, 3) for k, v in figures.items()}
        print(f"{name}: {figures} ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
