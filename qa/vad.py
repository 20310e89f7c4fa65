"""Voice activity: where speech is, and how well a detected timeline matches the planned one.

`SileroVAD` runs the ONNX Silero VAD model that the `silero-vad` package ships (CPU, one
thread, states reset per call, so deterministic; RTF ~0.01). `EnergyVAD` is the fallback
without a model: 30 ms frames (10 ms hop) whose level is at least `margin_db` above the
noise floor (the 10th percentile of the frame levels) and within `dynamic_db` of the loud
frames (the 99th percentile); a signal whose loud frames stand less than `margin_db` above
its floor (silence, steady noise) has no speech. Both merge gaps shorter than
`min_silence_s`, drop regions shorter than `min_speech_s` and pad each region by `pad_s`.

`timeline_agreement` scores detected regions against expected ones frame by frame, with a
collar around every expected boundary left out of the score (as diarization error rates
are computed), since neither the planned timeline nor a VAD places an edge to the frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from dialogsmith.tts_backends.base import Audio, Seconds

Region = tuple[Seconds, Seconds]
VAD_BACKENDS = ("silero", "energy")
SILERO_RATES = (8000, 16000)


class VADBackend(Protocol):
    def setup(self) -> None: ...

    def speech_regions(self, samples: np.ndarray, sample_rate: int) -> list[Region]: ...


@dataclass
class SileroVAD:
    threshold: float = 0.5  # speech probability
    min_speech_s: Seconds = 0.25
    min_silence_s: Seconds = 0.1
    pad_s: Seconds = 0.03

    def __post_init__(self) -> None:
        self._model: Any = None

    def setup(self) -> None:
        if self._model is None:
            try:
                from silero_vad import load_silero_vad
            except ImportError as e:
                raise ImportError("SileroVAD needs `pip install silero-vad`") from e
            self._model = load_silero_vad(onnx=True)

    def speech_regions(self, samples: np.ndarray, sample_rate: int) -> list[Region]:
        import torch
        from silero_vad import get_speech_timestamps

        self.setup()
        rate = sample_rate if sample_rate in SILERO_RATES else 16000
        x = Audio(samples, sample_rate).resampled(rate).samples
        if x.size < rate // 10:
            return []
        stamps = get_speech_timestamps(
            torch.from_numpy(x),
            self._model,
            threshold=self.threshold,
            sampling_rate=rate,
            min_speech_duration_ms=int(1000 * self.min_speech_s),
            min_silence_duration_ms=int(1000 * self.min_silence_s),
            speech_pad_ms=int(1000 * self.pad_s),
        )
        return [(s["start"] / rate, s["end"] / rate) for s in stamps]


@dataclass
class EnergyVAD:
    margin_db: float = 6.0  # above the noise floor
    dynamic_db: float = 40.0  # below the loud frames
    min_speech_s: Seconds = 0.25
    min_silence_s: Seconds = 0.3  # longer than Silero's: energy dips inside words
    pad_s: Seconds = 0.03

    def setup(self) -> None:
        pass

    def speech_regions(self, samples: np.ndarray, sample_rate: int) -> list[Region]:
        hop, win = sample_rate // 100, int(0.03 * sample_rate)
        x = np.nan_to_num(np.asarray(samples, dtype=np.float64).reshape(-1))
        n = (len(x) - win) // hop + 1
        if n < 3:
            return []
        frames = x[np.arange(n)[:, None] * hop + np.arange(win)]
        db = 10 * np.log10((frames**2).mean(axis=1) + 1e-12)
        floor, loud = np.percentile(db, [10, 99])
        if loud - floor < self.margin_db:
            return []
        active = db >= max(floor + self.margin_db, loud - self.dynamic_db)
        edges = np.flatnonzero(np.diff(np.r_[0, active.astype(int), 0]))
        regions = [(s * 0.01, (e - 1) * 0.01 + win / sample_rate) for s, e in edges.reshape(-1, 2)]
        duration = len(x) / sample_rate
        return _tidy(regions, self.min_silence_s, self.min_speech_s, self.pad_s, duration)


def _tidy(
    regions: list[Region], min_gap: Seconds, min_len: Seconds, pad: Seconds, duration: Seconds
) -> list[Region]:
    merged: list[list[float]] = []
    for start, end in regions:
        if merged and start - merged[-1][1] < min_gap:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return [
        (round(float(max(0.0, s - pad)), 3), round(float(min(duration, e + pad)), 3))
        for s, e in merged
        if e - s >= min_len
    ]


def make_vad(name: str = "silero", **kwargs: Any) -> VADBackend:
    """A VAD backend by name ("silero" or "energy"); `kwargs` go to its constructor."""
    if name == "silero":
        return SileroVAD(**kwargs)
    if name == "energy":
        return EnergyVAD(**kwargs)
    raise ValueError(f"unknown VAD backend {name!r}; allowed: {', '.join(VAD_BACKENDS)}")


def speech_regions(samples: np.ndarray, sample_rate: int, method: str = "silero") -> list[Region]:
    """Speech regions in seconds by a freshly made backend; hold a `make_vad` one for many calls."""
    return make_vad(method).speech_regions(samples, sample_rate)


def merge_regions(regions: list[Region]) -> list[Region]:
    """Sorted, with overlapping or touching regions joined."""
    out: list[Region] = []
    for start, end in sorted(regions):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        elif end > start:
            out.append((start, end))
    return out


def overlap_regions(a: list[Region], b: list[Region]) -> list[Region]:
    """Where a region of `a` and one of `b` are both active (e.g. two speakers at once)."""
    out = []
    for a_start, a_end in merge_regions(a):
        for b_start, b_end in merge_regions(b):
            start, end = max(a_start, b_start), min(a_end, b_end)
            if end > start:
                out.append((start, end))
    return merge_regions(out)


@dataclass(frozen=True)
class TimelineAgreement:
    precision: float  # detected speech that was expected
    recall: float  # expected speech that was detected
    f1: float
    agreement: float  # share of scored frames where both say the same
    missed_s: Seconds  # expected speech not detected
    false_alarm_s: Seconds  # detected speech not expected
    scored_s: Seconds  # time outside the collars


def _mask(regions: list[Region], n: int, frame_s: Seconds) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for start, end in regions:
        mask[max(0, round(start / frame_s)) : max(0, round(end / frame_s))] = True
    return mask


def timeline_agreement(
    expected: list[Region],
    detected: list[Region],
    duration: Seconds,
    collar_s: Seconds = 0.25,
    frame_s: Seconds = 0.01,
) -> TimelineAgreement:
    """Frame-level agreement of `detected` with `expected` over [0, duration], leaving out
    `collar_s` on each side of every expected boundary. Precision is 1 when nothing is
    detected, recall is 1 when nothing is expected."""
    n = max(1, round(duration / frame_s))
    want, got = _mask(expected, n, frame_s), _mask(detected, n, frame_s)
    edges = [t for region in expected for t in region]
    scored = ~_mask([(t - collar_s, t + collar_s) for t in edges], n, frame_s)
    want, got = want[scored], got[scored]
    hits = float(np.sum(want & got))
    precision = hits / got.sum() if got.any() else 1.0
    recall = hits / want.sum() if want.any() else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return TimelineAgreement(
        precision=round(float(precision), 4),
        recall=round(float(recall), 4),
        f1=round(float(f1), 4),
        agreement=round(float(np.mean(want == got)) if want.size else 1.0, 4),
        missed_s=round(float(np.sum(want & ~got)) * frame_s, 3),
        false_alarm_s=round(float(np.sum(got & ~want)) * frame_s, 3),
        scored_s=round(float(scored.sum()) * frame_s, 3),
    )
