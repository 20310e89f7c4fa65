import numpy as np
import pytest

from dialogsmith.stages.scene_babble import render_babble, render_background_talk, utterance

RATE = 16000
# two bank voices (an engine voice and one of its timbres) and three short sentences keep the
# one-off TTS cost of the module small
VOICES = ("hibari:heart", "hibari:heart~f0.90-p118-r0.90")
SENTENCES = (
    "The train was late again this morning.",
    "Let's get a table near the window.",
    "Did you see the game last night?",
)


def _babble(seed: int, talkers: int) -> np.ndarray:
    return render_babble(6.0, RATE, seed, talkers=talkers, voices=VOICES, sentences=SENTENCES)


def _envelope(x: np.ndarray, hop: int) -> np.ndarray:
    frames = x[: len(x) // hop * hop].reshape(-1, hop).astype(np.float64)
    return np.sqrt(np.mean(frames**2, axis=1))


def _variation(x: np.ndarray) -> float:
    """Coefficient of variation of the 20 ms RMS envelope: 0 for a steady sound."""
    envelope = _envelope(x, RATE // 50)
    return float(envelope.std() / envelope.mean())


def _syllabic_share(x: np.ndarray) -> float:
    """Share of the envelope's 0.5-50 Hz modulation power at 2-8 Hz (syllable rates)."""
    envelope = _envelope(x, RATE // 100)
    power = np.abs(np.fft.rfft(envelope - envelope.mean())) ** 2
    freqs = np.fft.rfftfreq(len(envelope), 0.01)
    syllabic = power[(freqs >= 2) & (freqs <= 8)].sum()
    return float(syllabic / power[(freqs > 0.5) & (freqs <= 50)].sum())


def test_babble_is_deterministic_unit_level_and_seeded():
    a, b = _babble(3, 6), _babble(3, 6)
    assert a.dtype == np.float32 and len(a) == 6 * RATE
    assert np.array_equal(a, b)
    assert np.sqrt(np.mean(a.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-3)
    assert not np.array_equal(a, _babble(4, 6))


def test_babble_is_speech_like_but_steadier_than_one_talker():
    babble, one = _babble(3, 6), _babble(3, 1)
    noise = np.random.default_rng(0).standard_normal(len(babble))
    assert 3 * _variation(noise) < _variation(babble) < 0.7 * _variation(one)
    assert _syllabic_share(babble) > 2.5 * _syllabic_share(noise)
    assert _variation(_babble(3, 8)) < _variation(_babble(3, 4))


def test_background_talk_is_one_placed_line_with_its_text():
    lines = SENTENCES[:2]
    talk = render_background_talk(5.0, RATE, seed=2, voices=VOICES, lines=lines)
    again = render_background_talk(5.0, RATE, seed=2, voices=VOICES, lines=lines)
    assert np.array_equal(talk.samples, again.samples) and talk.text in lines
    assert len(talk.samples) == 5 * RATE and len(talk.active_intervals) == 1
    start, end = talk.active_intervals[0]
    speech = utterance(talk.voice, talk.text, RATE)
    assert end - start == pytest.approx(len(speech) / RATE)
    mask = talk.active_mask()
    assert not talk.samples[~mask].any()
    assert np.sqrt(np.mean(talk.samples[mask].astype(np.float64) ** 2)) == pytest.approx(1.0, 1e-3)
    placed = talk.samples[mask].astype(np.float64)
    assert np.corrcoef(placed, speech)[0, 1] > 0.9999  # the rendered line, only scaled
    offsets = {
        render_background_talk(5.0, RATE, s, voices=VOICES, lines=lines).active_intervals[0][0]
        for s in range(4)
    }
    assert len(offsets) > 1
    with pytest.raises(ValueError, match="too short"):
        render_background_talk(0.5, RATE, seed=2, voices=VOICES, lines=lines)
