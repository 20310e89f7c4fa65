"""The transformers VITS backend on a tiny randomly initialised model saved like a real one
(save_pretrained + VitsTokenizer vocabulary): loading, rate, seeding, speed, voice cards."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dialogsmith.tts_backends import TurnStyle, make_backend
from dialogsmith.tts_backends.base import REFERENCE_LEVEL_DB, speech_level_db
from dialogsmith.tts_backends.registry import resolve_voice
from dialogsmith.tts_backends.transformers_tts import CARD_FILE

TEXT = "the weather is lovely today"
RATE = 16000


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    folder = tmp_path_factory.mktemp("tiny-vits")
    vocab = {c: i for i, c in enumerate(" abcdefghijklmnopqrstuvwxyz'")}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    config = VitsConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        ffn_dim=32,
        flow_size=16,
        spectrogram_bins=33,
        upsample_initial_channel=16,
        upsample_rates=[8, 8, 4],
        upsample_kernel_sizes=[16, 16, 8],
        resblock_kernel_sizes=[3],
        resblock_dilation_sizes=[[1]],
        duration_predictor_filter_channels=16,
        duration_predictor_num_flows=1,
        prior_encoder_num_flows=1,
        prior_encoder_num_wavenet_layers=1,
        posterior_encoder_num_wavenet_layers=1,
        depth_separable_num_layers=1,
        sampling_rate=RATE,
    )
    torch.manual_seed(0)
    VitsModel(config).save_pretrained(folder)
    VitsTokenizer(str(folder / "vocab.json"), phonemize=False).save_pretrained(folder)
    card = {"gender": "female", "accent": "gb", "language": "en"}
    (folder / CARD_FILE).write_text(json.dumps(card))
    return folder


@pytest.fixture(scope="module")
def backend_and_voice(model_dir):
    backend = make_backend("transformers", device="cpu")
    return backend, resolve_voice(f"transformers:{model_dir}")


def test_voice_card_labels_the_model(backend_and_voice, model_dir):
    backend, voice = backend_and_voice
    assert (voice.backend, voice.name) == ("transformers", str(model_dir))
    assert (voice.gender, voice.accent, voice.language) == ("female", "gb", "en")
    assert backend.capabilities.natural and "en" in backend.capabilities.languages


def test_renders_finite_speech_at_the_model_rate(backend_and_voice):
    backend, voice = backend_and_voice
    audio = backend.synthesize(TEXT, voice, TurnStyle())
    assert audio.sample_rate == RATE and audio.duration_s > 0.5
    assert np.isfinite(audio.samples).all() and np.abs(audio.samples).max() > 1e-3
    assert speech_level_db(audio.samples, RATE) == pytest.approx(REFERENCE_LEVEL_DB, abs=0.1)


def test_same_turn_same_samples_and_caller_rng_untouched(backend_and_voice):
    import torch

    backend, voice = backend_and_voice
    torch.manual_seed(123)
    first = backend.synthesize(TEXT, voice, TurnStyle(speed=1.1))
    backend.synthesize("something else in between", voice, TurnStyle())
    after = torch.rand(1)
    again = backend.synthesize(TEXT, voice, TurnStyle(speed=1.1))
    np.testing.assert_array_equal(first.samples, again.samples)
    torch.manual_seed(123)
    assert torch.equal(after, torch.rand(1)), "the backend must not consume the caller's RNG"
    other = backend.synthesize("the weather is lovely tonight", voice, TurnStyle(speed=1.1))
    assert not np.array_equal(other.samples, first.samples)


def test_speed_is_the_models_speaking_rate(backend_and_voice):
    backend, voice = backend_and_voice
    slow = backend.synthesize(TEXT, voice, TurnStyle(speed=0.75))
    normal = backend.synthesize(TEXT, voice, TurnStyle())
    fast = backend.synthesize(TEXT, voice, TurnStyle(speed=1.4))
    assert fast.duration_s < normal.duration_s < slow.duration_s
    assert fast.duration_s < 0.75 * slow.duration_s


def test_timbre_refs_and_errors_name_the_fix(backend_and_voice, model_dir, tmp_path):
    backend, _ = backend_and_voice
    timbre = resolve_voice(f"transformers:{model_dir}~f1.10-p220-r1.00")
    assert timbre.timbre.pitch_median_hz == 220 and timbre.base_name == str(model_dir)
    assert backend.synthesize(TEXT, timbre, TurnStyle()).duration_s > 0.5
    hub = resolve_voice("transformers:facebook/mms-tts-eng")  # a card, no download
    assert (hub.gender, hub.language) == ("male", "en")
    with pytest.raises(ValueError, match=CARD_FILE):
        resolve_voice(f"transformers:{tmp_path}")
    with pytest.raises(ValueError, match="no symbols"):
        backend.synthesize("你好", resolve_voice(f"transformers:{model_dir}"), TurnStyle())
