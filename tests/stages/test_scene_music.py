import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from scipy import signal

from dialogsmith.stages.scene_music import (
    MUSIC_LIBRARY,
    music_caption,
    music_table,
    render_music,
)
from dialogsmith.taxonomy import ATTRIBUTE_VALUES

RATE = 16000


def _hash_in_fresh_process(label: str) -> bytes:
    return render_music(label, 2.0, RATE, seed=3).samples.tobytes()


def _onset_envelope(x: np.ndarray, hop: int) -> np.ndarray:
    _, _, spec = signal.stft(x, RATE, nperseg=4 * hop, noverlap=3 * hop)
    flux = np.maximum(0, np.diff(np.log1p(100 * np.abs(spec)), axis=1)).sum(axis=0)
    return flux - flux.mean()


def _flatness(x: np.ndarray) -> float:
    _, power = signal.welch(x, RATE, nperseg=1024)
    return float(np.exp(np.mean(np.log(power + 1e-20))) / np.mean(power))


def test_library_covers_the_taxonomy():
    assert set(MUSIC_LIBRARY) == set(ATTRIBUTE_VALUES["music"])
    assert [row["label"] for row in music_table()] == list(MUSIC_LIBRARY)


@pytest.mark.parametrize("label", ATTRIBUTE_VALUES["music"])
def test_renders_the_exact_duration_unit_level_and_names_its_instruments(label):
    music = render_music(label, 2.5, RATE, seed=1)
    assert music.samples.dtype == np.float32 and len(music.samples) == round(2.5 * RATE)
    assert music.active_mask().all()
    assert np.sqrt(np.mean(music.samples.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-3)
    second = music.samples[RATE : 2 * RATE].astype(np.float64)
    assert np.sqrt(np.mean(second**2)) > 0.3  # plays throughout, not only at the start
    for part in MUSIC_LIBRARY[label].parts:
        assert part.program.lower() in music.caption and part.program.lower() in music_caption(
            label
        )


def test_bit_identical_for_the_same_seed_also_in_a_fresh_process():
    a = render_music("jazz_saxophone", 2.0, RATE, seed=3)
    b = render_music("jazz_saxophone", 2.0, RATE, seed=3)
    assert np.array_equal(a.samples, b.samples)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        assert pool.submit(_hash_in_fresh_process, "jazz_saxophone").result() == (
            a.samples.tobytes()
        )
    other = render_music("jazz_saxophone", 2.0, RATE, seed=4)
    assert not np.array_equal(a.samples, other.samples)
    assert render_music("sad_piano", 1.0, 22050, seed=3).samples.shape == (22050,)


@pytest.mark.parametrize("label", ["energetic_drums", "upbeat_guitar", "sad_piano"])
def test_onset_periodicity_matches_the_tempo(label):
    music = render_music(label, 8.0, RATE, seed=1)
    hop = RATE // 100
    envelope = _onset_envelope(music.samples.astype(np.float64), hop)
    corr = np.correlate(envelope, envelope, "full")[len(envelope) - 1 :]
    lags = np.arange(len(corr)) * hop / RATE
    window = (lags >= 0.3) & (lags <= 1.5)
    best = lags[window][np.argmax(corr[window])]
    ratio = best / (60 / music.tempo_bpm)  # in beats: the strongest period is on the beat grid
    assert abs(ratio - round(ratio * 2) / 2) < 0.03 and ratio >= 0.5


def test_drums_are_noisy_and_piano_is_tonal():
    drums = render_music("energetic_drums", 4.0, RATE, seed=2).samples.astype(np.float64)
    piano = render_music("sad_piano", 4.0, RATE, seed=2).samples.astype(np.float64)
    assert _flatness(drums) > 5 * _flatness(piano)


def test_unknown_label_names_the_allowed_ones():
    with pytest.raises(ValueError, match="sad_piano"):
        render_music("polka", 1.0, RATE, seed=0)
