"""VAD on real speech placed at known offsets in silence and noise; timeline scoring on
hand-made regions."""

from __future__ import annotations

import numpy as np
import pytest

from dialogsmith.qa.prosody_features import speech_span
from dialogsmith.qa.vad import (
    EnergyVAD,
    SileroVAD,
    make_vad,
    merge_regions,
    overlap_regions,
    speech_regions,
    timeline_agreement,
)
from dialogsmith.tts_backends import TurnStyle, make_backend
from dialogsmith.tts_backends.base import speech_level_db

SR = 16000
PLACED = (("Could you tell me when the next train to the city leaves?", 1.0), ("Yes, I do.", 5.2))
TOTAL_S = 8.0


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Two trimmed hibari turns at known offsets in 8 s of silence, and where they are."""
    tts = make_backend("hibari")
    x = np.zeros(int(TOTAL_S * SR), np.float32)
    expected = []
    for text, offset in PLACED:
        audio = tts.synthesize(text, tts.voices()[0], TurnStyle()).resampled(SR).samples
        start, end = speech_span(audio, SR)
        at = int(offset * SR)
        x[at : at + end - start] = audio[start:end]
        expected.append((offset, offset + (end - start) / SR))
    return x, expected


def with_noise(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(len(x))
    return (x + noise * 10 ** ((speech_level_db(x, SR) - snr_db) / 20)).astype(np.float32)


@pytest.mark.parametrize("method", ["silero", "energy"])
@pytest.mark.parametrize("snr_db", [None, 10.0])
def test_finds_the_placed_turns(scene, method, snr_db):
    x, expected = scene
    y = x if snr_db is None else with_noise(x, snr_db)
    detected = speech_regions(y, SR, method)
    assert len(detected) == 2
    score = timeline_agreement(expected, detected, TOTAL_S)
    assert score.f1 >= 0.95 and score.agreement >= 0.95
    assert score.false_alarm_s <= 0.1


@pytest.mark.parametrize("vad", [SileroVAD(), EnergyVAD()], ids=["silero", "energy"])
def test_silence_and_steady_noise_are_not_speech(vad):
    assert vad.speech_regions(np.zeros(4 * SR, np.float32), SR) == []
    noise = 0.05 * np.random.default_rng(3).standard_normal(4 * SR)
    assert vad.speech_regions(noise.astype(np.float32), SR) == []


def test_silero_tells_a_tone_from_speech_where_energy_cannot(scene):
    t = np.arange(3 * SR) / SR
    tone = np.zeros(4 * SR, np.float32)
    tone[SR:] = 0.1 * np.sin(2 * np.pi * 440 * t)
    assert make_vad("energy").speech_regions(tone, SR) != []
    assert make_vad("silero").speech_regions(tone, SR) == []


def test_silero_resamples_other_rates_and_is_deterministic(scene):
    from scipy.signal import resample_poly

    x, expected = scene
    vad = make_vad("silero")
    at_22k = resample_poly(x, 441, 320).astype(np.float32)
    detected = vad.speech_regions(at_22k, 22050)
    assert timeline_agreement(expected, detected, TOTAL_S).f1 >= 0.95
    assert vad.speech_regions(at_22k, 22050) == detected


def test_timeline_agreement_counts_frames_outside_the_collars():
    expected = [(1.0, 3.0), (5.0, 6.0)]
    perfect = timeline_agreement(expected, expected, 8.0)
    assert (perfect.precision, perfect.recall, perfect.f1, perfect.agreement) == (1, 1, 1, 1)
    assert perfect.scored_s == pytest.approx(8.0 - 4 * 0.5)
    # edges 0.2 s off fall inside the 0.25 s collars: no error is counted
    assert timeline_agreement(expected, [(1.2, 2.8), (4.8, 6.2)], 8.0).f1 == 1.0
    # the second turn missed, a false alarm at 7-7.5 s
    score = timeline_agreement(expected, [(1.0, 3.0), (7.0, 7.5)], 8.0)
    assert score.missed_s == pytest.approx(0.5, abs=0.01)  # 5.25-5.75 is scored
    assert score.false_alarm_s == pytest.approx(0.5, abs=0.01)
    assert score.recall == pytest.approx(1.5 / 2.0, abs=0.01)
    assert score.precision == pytest.approx(1.5 / 2.0, abs=0.01)
    assert timeline_agreement(expected, [], 8.0).recall == 0.0
    assert timeline_agreement([], [], 8.0).f1 == 1.0


def test_overlap_and_merge():
    a = [(0.0, 2.0), (3.0, 5.0)]
    b = [(1.5, 3.5), (4.0, 4.5), (6.0, 7.0)]
    assert overlap_regions(a, b) == [(1.5, 2.0), (3.0, 3.5), (4.0, 4.5)]
    assert overlap_regions(a, [(2.0, 3.0)]) == []  # touching is not overlapping
    assert merge_regions([(3.0, 4.0), (0.0, 1.0), (0.5, 2.0), (2.0, 2.5)]) == [
        (0.0, 2.5),
        (3.0, 4.0),
    ]


def test_unknown_backend_names_the_allowed_ones():
    with pytest.raises(ValueError, match="allowed: silero, energy"):
        make_vad("webrtc")
