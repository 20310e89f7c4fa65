"""Turn-taking draws and word boundaries for the scene's timeline.

The TTS engines give no alignments, so word boundaries are placed by letter position over the
active speech (as `estimate_word_span` does) and snapped to the quietest 10 ms frame nearby:
the pause between two words, where a listener cuts in or backchannels.
"""

from __future__ import annotations

import re

import numpy as np

from dialogsmith.config import TurnTakingConfig
from dialogsmith.records import PlannedEvent
from dialogsmith.tts_backends.prosody import speech_bounds

SNAP_S = 0.08
UNIT = re.compile(r"\S+")


def word_units(text: str) -> list[str]:
    """Words, or characters for text written without spaces (Chinese)."""
    words = UNIT.findall(text)
    if len(words) == 1 and len(words[0]) > 1 and not words[0].isascii():
        return [ch for ch in words[0] if ch.isalnum()]
    return words


def word_boundaries(
    samples: np.ndarray, rate: int, text: str, speech_start_s: float = 0.0
) -> list[tuple[int, float]]:
    """(index of the first word after the boundary, time in seconds) between every two words."""
    units = word_units(text)
    offset = round(speech_start_s * rate)
    speech = samples[offset:]
    start, end = speech_bounds(speech, rate)
    letters = np.cumsum([sum(ch.isalnum() for ch in u) or 1 for u in units])
    boundaries = []
    for index in range(1, len(units)):
        fraction = letters[index - 1] / letters[-1]
        at = offset + start + fraction * (end - start)
        boundaries.append((index, _quietest(samples, rate, at / rate)))
    return boundaries


def _quietest(samples: np.ndarray, rate: int, at_s: float) -> float:
    hop = rate // 100
    first = max(0, round((at_s - SNAP_S) * rate))
    window = samples[first : round((at_s + SNAP_S) * rate)]
    n = len(window) // hop
    if n == 0:
        return at_s
    energy = np.square(window[: n * hop].reshape(n, hop), dtype=np.float64).mean(axis=1)
    return (first + (int(np.argmin(energy)) + 0.5) * hop) / rate


def pick_boundary(
    boundaries: list[tuple[int, float]],
    speech_span: tuple[float, float],
    fraction: tuple[float, float],
    rng: np.random.Generator,
) -> tuple[int, float] | None:
    """A boundary inside `fraction` of the speech span, or the one nearest its middle."""
    if not boundaries:
        return None
    start, end = speech_span
    low, high = (start + f * (end - start) for f in fraction)
    inside = [b for b in boundaries if low <= b[1] <= high]
    if inside:
        return inside[int(rng.integers(len(inside)))]
    middle = (low + high) / 2
    return min(boundaries, key=lambda b: abs(b[1] - middle))


def draw_offset(
    rng: np.random.Generator, cfg: TurnTakingConfig, previous_s: float, next_s: float
) -> float:
    """Next turn's start minus the previous turn's end: a gap (>0) or an overlap (<0).

    Always draws the same three numbers, so one transition's kind does not shift the rest."""
    overlaps, gap_draw, overlap_draw = rng.random(), rng.gamma(cfg.shape), rng.gamma(cfg.shape)
    if overlaps < cfg.overlap_probability:
        shorter = min(previous_s, next_s)
        overlap = max(overlap_draw / cfg.shape * cfg.mean_overlap * shorter, cfg.min_overlap_s)
        return -float(min(overlap, cfg.max_overlap_s, 0.5 * shorter))
    return float(min(gap_draw / cfg.shape * cfg.mean_silence * previous_s, cfg.max_gap_s))


def uniform(rng: np.random.Generator, pair: tuple[float, float]) -> float:
    return float(rng.uniform(*pair))


def clip_roles(events: list[PlannedEvent], roles: list[str]) -> dict[int, str]:
    """Turn index -> listener role for each backchannel event, moved to a turn of the speaker
    the listener backchannels to."""
    placed: dict[int, str] = {}
    for event in events:
        if event.kind != "backchannel":
            continue
        listener = "assistant" if event.value == "assistant_backchannel" else "user"
        speaker = "user" if listener == "assistant" else "assistant"
        for index in (event.turn, event.turn + 1, event.turn - 1):
            if 0 <= index < len(roles) and roles[index] == speaker:
                placed[index] = listener
                break
    return placed
