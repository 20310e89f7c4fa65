"""Measurements of one turn that the attribute checks judge: prosody, loudness, high-band
energy, and the prominence of a stressed span.

`measure_turn` adds to `prosody_features.measure` the integrated loudness (ITU-R BS.1770,
pyloudnorm) and the share of speech energy above 4 kHz (what a telephone band or 8 kHz
sampling removes). `speaker_reference` pools a speaker's neutral turns by medians.
`stress_prominence` compares a span's F0 and level with the voiced frames around it
(`STRESS_CONTEXT_S` each side), not with the whole turn: intonation falls over a sentence,
so a word near the end is judged against its neighbours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import numpy as np

from dialogsmith.tts_backends.base import Seconds

from .prosody_features import ProsodyFeatures, measure, speech_span

HF_SPLIT_HZ = 4000.0
STRESS_CONTEXT_S: Seconds = 0.8


@dataclass(frozen=True)
class TurnMeasurements:
    prosody: ProsodyFeatures
    loudness_lufs: float  # integrated loudness (ITU-R BS.1770); -inf under 0.4 s
    hf_energy_db: float  # energy above HF_SPLIT_HZ over energy above 100 Hz, speech span


def hf_energy_db(samples: np.ndarray, sample_rate: int) -> float:
    """10 log10 of the speech energy above 4 kHz over that above 100 Hz (Welch PSD)."""
    from scipy.signal import welch

    x = np.asarray(samples, dtype=np.float64)
    if x.size < 64 or not np.any(x):
        return float("-inf")
    freqs, psd = welch(x, fs=sample_rate, nperseg=min(512, x.size))
    total = psd[freqs >= 100].sum()
    high = psd[freqs >= HF_SPLIT_HZ].sum()
    return float(10 * np.log10(high / total)) if high > 0 and total > 0 else float("-inf")


def loudness_lufs(samples: np.ndarray, sample_rate: int) -> float:
    import pyloudnorm

    x = np.asarray(samples, dtype=np.float64)
    if x.size < 0.4 * sample_rate or not np.any(x):
        return float("-inf")
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(x))


def measure_turn(
    samples: np.ndarray, sample_rate: int, text: str | None = None
) -> TurnMeasurements:
    """Prosody (`prosody_features.measure`), loudness and high-band energy of a turn's speech."""
    x = np.nan_to_num(np.asarray(samples, dtype=np.float64).reshape(-1))
    start, end = speech_span(x, sample_rate)
    return TurnMeasurements(
        prosody=measure(x, sample_rate, text),
        loudness_lufs=loudness_lufs(x, sample_rate),
        hf_energy_db=hf_energy_db(x[start:end], sample_rate),
    )


def speaker_reference(turns: Sequence[TurnMeasurements]) -> TurnMeasurements | None:
    """The median of each measurement over a speaker's neutral turns; None without turns."""
    if not turns:
        return None

    def median(values: list[float]) -> float:
        finite = [v for v in values if np.isfinite(v)]
        return float(np.median(finite)) if finite else float("nan")

    prosody = replace(
        turns[0].prosody,
        **{
            f.name: median([getattr(t.prosody, f.name) for t in turns])
            for f in fields(ProsodyFeatures)
        },
    )
    return TurnMeasurements(
        prosody=prosody,
        loudness_lufs=median([t.loudness_lufs for t in turns]),
        hf_energy_db=median([t.hf_energy_db for t in turns]),
    )


def stress_prominence(
    samples: np.ndarray, sample_rate: int, span_s: tuple[Seconds, Seconds], level_weight: float
) -> dict[str, float]:
    """F0 and level of the span against the voiced frames within `STRESS_CONTEXT_S` of it."""
    from dialogsmith.tts_backends.prosody import f0_track

    x = np.asarray(samples, dtype=np.float64)
    hop = max(1, sample_rate // 100)
    n = len(x) // hop
    if n < 10:
        return {"f0_delta_st": float("nan"), "level_delta_db": float("nan"), "prominence": 0.0}
    times, f0 = f0_track(x, sample_rate)
    frame_db = 10 * np.log10((x[: n * hop].reshape(n, hop) ** 2).mean(axis=1) + 1e-12)
    db = frame_db[np.clip((times * sample_rate / hop).astype(int), 0, n - 1)]
    start, end = span_s
    voiced = f0 > 0
    inside = voiced & (times >= start) & (times < end)
    near = voiced & ~inside & (times >= start - STRESS_CONTEXT_S) & (times < end + STRESS_CONTEXT_S)
    if inside.sum() < 3 or near.sum() < 3:
        return {"f0_delta_st": float("nan"), "level_delta_db": float("nan"), "prominence": 0.0}
    st = 12 * np.log2(np.where(voiced, f0, 1.0) / 100.0)
    f0_delta = float(np.median(st[inside]) - np.median(st[near]))
    level_delta = float(np.percentile(db[inside], 90) - np.percentile(db[near], 90))
    return {
        "f0_delta_st": round(f0_delta, 3),
        "level_delta_db": round(level_delta, 3),
        "prominence": round(f0_delta + level_weight * level_delta, 3),
    }
