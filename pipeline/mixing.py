"""Render a `Timeline` into channels: one per speaker, the background, and the mix.

Everything comes from the timeline and the turn audio, so a sample rebuilt from its manifest
row is identical to the one that was exported.
"""

from __future__ import annotations

import numpy as np

from dialogsmith.audio import EPS, db_to_amplitude
from dialogsmith.records import Timeline, Track

NOISE_EXPONENT = {"white": 0.0, "pink": 0.5, "brown": 1.0}
"""Amplitude spectrum ~ 1 / f**exponent (power ~ 1 / f**(2*exponent))."""


def coloured_noise(kind: str, num_samples: int, seed: int) -> np.ndarray:
    if kind not in NOISE_EXPONENT:
        raise ValueError(f"unknown noise kind {kind!r}; allowed: {sorted(NOISE_EXPONENT)}")
    white = np.random.default_rng(seed).standard_normal(num_samples)
    spectrum = np.fft.rfft(white)
    freqs = np.arange(len(spectrum), dtype=np.float64)
    freqs[0] = 1.0
    noise = np.fft.irfft(spectrum / freqs ** NOISE_EXPONENT[kind], n=num_samples)
    return (noise / (np.sqrt(np.mean(noise**2)) + EPS)).astype(np.float32)


def speech_power(channels: dict[str, np.ndarray], timeline: Timeline) -> float:
    """Mean power of the summed speech over the samples where any speech track is active."""
    rate = timeline.sample_rate
    speech = sum(channels[c] for c in ("user", "assistant"))
    active = np.zeros(len(speech), dtype=bool)
    for track in timeline.speech():
        active[int(track.offset_s * rate) : int(track.end_s * rate)] = True
    return float(np.mean(np.square(speech[active], dtype=np.float64))) if active.any() else 0.0


def render_timeline(timeline: Timeline, turns: dict[int, np.ndarray]) -> dict[str, np.ndarray]:
    """`turns` maps turn index to its levelled samples at the timeline's rate."""
    rate = timeline.sample_rate
    length = round(timeline.duration_s * rate)
    channels = {
        name: np.zeros(length, dtype=np.float32) for name in ("user", "assistant", "background")
    }
    for track in timeline.speech():
        _place(channels[track.channel], turns[track.turn_index], track, rate)
    for track in timeline.tracks:
        if track.kind == "noise":
            noise = coloured_noise(track.label, round(track.duration_s * rate), track.seed or 0)
            target = speech_power(channels, timeline) / 10 ** (track.snr_db / 10)
            _place(channels["background"], noise * np.sqrt(target), track, rate)
    master = db_to_amplitude(timeline.master_gain_db)
    channels = {name: (x * master).astype(np.float32) for name, x in channels.items()}
    channels["mix"] = channels["user"] + channels["assistant"] + channels["background"]
    return channels


def _place(channel: np.ndarray, samples: np.ndarray, track: Track, rate: int) -> None:
    start = round(track.offset_s * rate)
    piece = samples[: max(0, min(len(samples), len(channel) - start))]
    channel[start : start + len(piece)] += piece * db_to_amplitude(track.gain_db)
