"""Render a `Timeline` into channels: one per speaker, the background, and the mix.

Everything comes from the timeline, the turn audio and the clips (backchannels, overheard
lines), so a sample rebuilt from its manifest row is identical to the one that was exported.
Background tracks are generated from their `source` and `seed` and scaled so that the speech
they overlap is `snr_db` louder, measured on exactly those samples.
"""

from __future__ import annotations

import numpy as np

from dialogsmith.audio import EPS, db_to_amplitude
from dialogsmith.records import BACKGROUND_KINDS, Timeline, Track

CHANNELS = ("user", "assistant", "background")
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


def speech_mask(timeline: Timeline) -> np.ndarray:
    """Samples inside any speech or backchannel track (the span the turn audio covers)."""
    rate = timeline.sample_rate
    active = np.zeros(round(timeline.duration_s * rate), dtype=bool)
    for track in timeline.foreground():
        if track.kind != "crosstalk":
            active[round(track.offset_s * rate) : round(track.end_s * rate)] = True
    return active


def speech_power(channels: dict[str, np.ndarray], timeline: Timeline) -> float:
    """Mean power of the summed speech over the samples where any speech track is active."""
    speech = channels["user"] + channels["assistant"]
    active = speech_mask(timeline)[: len(speech)]
    return float(np.mean(np.square(speech[active], dtype=np.float64))) if active.any() else 0.0


def overlap_snr_db(
    speech: np.ndarray, background: np.ndarray, speech_active: np.ndarray, source_active: np.ndarray
) -> float:
    """SNR over the samples where both the speech and the source are active."""
    region = speech_active & source_active
    if not region.any():
        return float("inf")
    signal = np.mean(np.square(speech[region], dtype=np.float64))
    noise = np.mean(np.square(background[region], dtype=np.float64))
    return float(10 * np.log10((signal + EPS) / (noise + EPS)))


def render_timeline(
    timeline: Timeline,
    turns: dict[int, np.ndarray],
    clips: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """`turns` maps turn index to its levelled samples at the timeline's rate, `clips` clip id
    to samples. Returns the three channels after the master gain, and their sum as `mix`."""
    return apply_master(render_unscaled(timeline, turns, clips or {}), timeline.master_gain_db)


def apply_master(channels: dict[str, np.ndarray], gain_db: float) -> dict[str, np.ndarray]:
    master = db_to_amplitude(gain_db)
    scaled = {name: (channels[name] * master).astype(np.float32) for name in CHANNELS}
    scaled["mix"] = scaled["user"] + scaled["assistant"] + scaled["background"]
    return scaled


def render_unscaled(
    timeline: Timeline, turns: dict[int, np.ndarray], clips: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    rate = timeline.sample_rate
    length = round(timeline.duration_s * rate)
    channels = {name: np.zeros(length, dtype=np.float32) for name in CHANNELS}
    room = _room(timeline)
    for track in timeline.foreground():
        samples = _foreground_samples(track, turns, clips, rate)
        if track.effect:
            from dialogsmith.stages.scene_sources import apply_effect

            samples = apply_effect(samples, rate, track.effect, track.seed or 0)
        if room is not None and track.room_position:
            ringing = np.zeros(round(timeline.room.rt60_s * rate), dtype=np.float32)
            samples = room.reverberate(np.concatenate([samples, ringing]), track.room_position)
        _place(channels[track.channel], samples, track, rate)
    speech = channels["user"] + channels["assistant"]
    for placed, _ in background_tracks(timeline, speech, clips).values():
        channels["background"] += placed
    return channels


def background_tracks(
    timeline: Timeline, speech: np.ndarray, clips: dict[str, np.ndarray]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Each background track placed at its SNR against `speech` (the summed speaker channels
    before the master gain) and where it is active, keyed by its index in `timeline.tracks`;
    the background channel is the sum of the placed tracks."""
    rate = timeline.sample_rate
    active = speech_mask(timeline)
    placed_tracks = {}
    for index, track in enumerate(timeline.tracks):
        if track.kind not in BACKGROUND_KINDS:
            continue
        unit, unit_active = _background_samples(track, rate, clips)
        placed, placed_active = _placed(unit, unit_active, track, rate, len(speech))
        gain = _snr_gain(speech, active, placed, placed_active, track.snr_db)
        scaled = (placed * (gain * db_to_amplitude(track.gain_db))).astype(np.float32)
        placed_tracks[index] = (scaled, placed_active)
    return placed_tracks


def _foreground_samples(
    track: Track, turns: dict[int, np.ndarray], clips: dict[str, np.ndarray], rate: int
) -> np.ndarray:
    kind, _, key = (track.source or f"turn:{track.turn_index}").partition(":")
    samples = turns[int(key)] if kind == "turn" else clips[key]
    samples = samples[: round(track.duration_s * rate)] * db_to_amplitude(track.gain_db)
    fade = min(len(samples), round(track.fade_out_s * rate))
    if fade:
        samples = samples.copy()
        samples[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return samples.astype(np.float32)


def _background_samples(
    track: Track, rate: int, clips: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Unit-level samples of a background source and where it is active."""
    num = round(track.duration_s * rate)
    seed = track.seed or 0
    kind, _, key = (track.source or "").partition(":")
    if kind == "noise":
        return coloured_noise(key, num, seed), np.ones(num, dtype=bool)
    if kind == "clip":
        samples = clips[key][:num].astype(np.float32)
        return samples, np.abs(samples) > 0
    from dialogsmith.stages.scene_sources import background_source

    return background_source(kind, key, track.duration_s, rate, seed)


def _placed(
    unit: np.ndarray, active: np.ndarray, track: Track, rate: int, length: int
) -> tuple[np.ndarray, np.ndarray]:
    placed = np.zeros(length, dtype=np.float32)
    placed_active = np.zeros(length, dtype=bool)
    start = round(track.offset_s * rate)
    n = max(0, min(len(unit), length - start))
    placed[start : start + n] = unit[:n]
    placed_active[start : start + n] = active[:n]
    return placed, placed_active


def _snr_gain(
    speech: np.ndarray,
    speech_active: np.ndarray,
    source: np.ndarray,
    source_active: np.ndarray,
    snr_db: float | None,
) -> float:
    """Amplitude gain that puts `source` `snr_db` below the speech it overlaps.

    Both powers are taken over the samples where speech and source are active together; a
    source that overlaps no speech is scaled against all speech instead."""
    if snr_db is None:
        return 1.0
    region = speech_active & source_active
    if not region.any():
        region_speech, region_source = speech_active, source_active
    else:
        region_speech = region_source = region
    if not region_speech.any() or not region_source.any():
        return 0.0
    signal = np.mean(np.square(speech[region_speech], dtype=np.float64))
    noise = np.mean(np.square(source[region_source], dtype=np.float64))
    return float(np.sqrt(signal / (noise + EPS) / 10 ** (snr_db / 10)))


def _room(timeline: Timeline):
    if timeline.room is None:
        return None
    from dialogsmith.stages.scene_sources import RoomAcoustics

    return RoomAcoustics(timeline.room, timeline.sample_rate)


def _place(channel: np.ndarray, samples: np.ndarray, track: Track, rate: int) -> None:
    start = round(track.offset_s * rate)
    piece = samples[: max(0, min(len(samples), len(channel) - start))]
    channel[start : start + len(piece)] += piece
