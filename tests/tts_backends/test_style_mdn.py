"""Style words from measurements, the MDN's training, and the packaged style sampler."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest
import torch

from dialogsmith.qa.prosody_features import ProsodyFeatures
from dialogsmith.tts_backends import TurnStyle
from dialogsmith.tts_backends import style_text as st
from dialogsmith.tts_backends.base import REFERENCE_LEVEL_DB
from dialogsmith.tts_backends.style_mdn import (
    DEFAULT_CHECKPOINT,
    STYLE_RANGES,
    StyleMDN,
    StyleSampler,
    load_model,
    style_to_vector,
    train_mdn,
    vector_to_style,
)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """The models are tiny: on a shared CPU, extra torch threads only spin."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def inside(edges, index):
    """A value inside bin `index` of `edges`."""
    lo = edges[index - 1] if index > 0 else edges[0] - 2.0
    hi = edges[index] if index < len(edges) else edges[-1] + 2.0
    return (lo + hi) / 2


def features_in(gender, pitch, monotony, rate, loudness):
    return ProsodyFeatures(
        f0_median_hz=0.0,
        f0_median_st=inside(st.PITCH_EDGES_ST[gender], pitch),
        f0_spread_st=inside(st.MONOTONY_EDGES_ST, monotony),
        rate_syllables_per_s=inside(st.RATE_EDGES_SYL_S, rate),
        level_db=REFERENCE_LEVEL_DB + inside(st.LOUDNESS_EDGES_DB, loudness),
        voiced_fraction=0.6,
        duration_s=1.5,
    )


@pytest.mark.parametrize("gender", ["female", "male"])
def test_bins_and_descriptions_round_trip(gender):
    rng = random.Random(0)
    for pitch in range(7):
        for monotony in range(5):
            rate, loudness = (pitch + monotony) % 7, (pitch * 3 + monotony) % 5
            features = features_in(gender, pitch, monotony, rate, loudness)
            expected = {
                "pitch": st.LABELS["pitch"][pitch],
                "monotony": st.LABELS["monotony"][monotony],
                "rate": st.LABELS["rate"][rate],
                "loudness": st.LABELS["loudness"][loudness],
            }
            assert st.bins_of(features, gender) == expected
            text = st.describe(features, gender, rng)
            assert st.parse_bins(text) == expected, text
            partial = st.describe(features, gender, rng, mention=("rate",))
            assert st.parse_bins(partial) == {"rate": expected["rate"]}, partial


def test_descriptions_are_seeded_and_varied():
    features = features_in("female", 5, 4, 5, 3)
    texts = [st.describe(features, "female", random.Random(seed)) for seed in range(40)]
    assert texts[:5] == [st.describe(features, "female", random.Random(s)) for s in range(5)]
    assert len(set(texts)) > 20
    assert all(t[0].isupper() and t.endswith(".") for t in texts)
    assert any(t.startswith(("A woman", "A female", "A lady", "She")) for t in texts)
    with pytest.raises(ValueError, match="gender"):
        st.bins_of(features, "child")


def test_bins_follow_gender():
    """The same F0 is high for a man and low for a woman."""
    f = replace(features_in("male", 6, 2, 3, 2), f0_median_st=st.PITCH_EDGES_ST["male"][-1] + 1)
    assert st.bins_of(f, "male")["pitch"] == "very high-pitch"
    assert st.bins_of(f, "female")["pitch"] in st.LABELS["pitch"][:2]


def synthetic_pairs(n, seed):
    """Two clusters of inputs; each maps to a bimodal target (a many-to-many mapping)."""
    g = np.random.default_rng(seed)
    label = g.integers(0, 2, n)
    x = g.normal(size=(n, 16)).astype(np.float32) * 0.1
    x[:, 0] += label * 2 - 1
    mode = g.integers(0, 2, n) * 2 - 1
    y = np.stack([label * 4.0 + mode, label - 0.5, mode * 0.3, -2 * label], 1)
    return x, (y + g.normal(scale=0.1, size=y.shape)).astype(np.float32)


def test_mdn_nll_decreases():
    x, y = synthetic_pairs(512, 0)
    xv, yv = synthetic_pairs(128, 1)
    model, history = train_mdn(
        x, y, epochs=15, seed=0, val=(xv, yv), n_components=4, hidden=32, batch_size=32
    )
    assert isinstance(model, StyleMDN) and len(history) == 15
    assert history[-1]["train_nll"] < history[0]["train_nll"] - 1.0
    assert history[-1]["val_nll"] < history[0]["val_nll"] - 1.0
    log_pi, mu, log_sigma = model(torch.as_tensor(x[:3]))
    assert log_pi.shape == (3, 4) and mu.shape == (3, 4, 4) and log_sigma.shape == (3,)


def test_training_is_seeded():
    x, y = synthetic_pairs(128, 0)
    a = train_mdn(x, y, epochs=2, seed=3, hidden=16)[1]
    b = train_mdn(x, y, epochs=2, seed=3, hidden=16)[1]
    assert a == b


def test_style_vector_round_trip_and_clip():
    style = TurnStyle(speed=1.2, gain_db=-4.0, pitch_shift_semitones=2.5, f0_range_factor=0.8)
    back = vector_to_style(style_to_vector(style))
    assert back.speed == pytest.approx(1.2) and back.f0_range_factor == pytest.approx(0.8)
    wild = vector_to_style([40.0, 5.0, -9.0, 99.0])
    assert wild.pitch_shift_semitones == STYLE_RANGES["pitch_shift_semitones"][1]
    assert wild.f0_range_factor == STYLE_RANGES["f0_range_factor"][1]
    assert wild.speed == STYLE_RANGES["speed"][0] and wild.gain_db == STYLE_RANGES["gain_db"][1]


def test_packaged_checkpoint_is_small_and_safe():
    assert DEFAULT_CHECKPOINT.stat().st_size < 1_000_000
    model = load_model(DEFAULT_CHECKPOINT)  # weights_only=True: no pickled code
    assert model.config["dim_in"] == 384


@pytest.fixture(scope="module")
def sampler():
    return StyleSampler.load()


def test_sampling_is_seeded(sampler):
    text = "A woman speaks quickly and expressively, with a high-pitched, loud voice."
    assert sampler.sample(text, seed=7) == sampler.sample(text, seed=7)
    styles = sampler.sample_many(text, range(8))
    assert len({s.speed for s in styles}) == 8
    assert styles[3] == sampler.sample(text, seed=3)
    with pytest.raises(ValueError, match="empty"):
        sampler.sample("  ", seed=0)


def test_quick_descriptions_sample_faster_speeds(sampler):
    fast = sampler.sample_many("A man speaks very quickly.", range(30))
    slow = sampler.sample_many("A man speaks very slowly.", range(30))
    assert np.mean([s.speed for s in fast]) > np.mean([s.speed for s in slow]) + 0.15
    loud = sampler.sample_many("She speaks very loudly.", range(30))
    quiet = sampler.sample_many("She speaks very quietly.", range(30))
    assert np.mean([s.gain_db for s in loud]) > np.mean([s.gain_db for s in quiet]) + 6.0
    for s in fast + slow + loud + quiet:
        lo, hi = STYLE_RANGES["speed"]
        assert lo <= s.speed <= hi
