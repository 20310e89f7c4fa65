"""Speaker consistency on two real voices (hibari heart, piper joe), and a tiny random
x-vector model built here."""

from __future__ import annotations

import numpy as np
import pytest
from qa_renders import SR

from dialogsmith.qa.speaker import (
    TimbreEmbedder,
    cosine_distance,
    make_speaker_embedder,
    speaker_consistency,
)


@pytest.fixture(scope="module")
def embedded(hibari, piper) -> dict[str, list[np.ndarray]]:
    embedder = TimbreEmbedder()
    return {
        "hibari": [embedder.embed(hibari[f"neutral/{i}"].samples, SR) for i in range(3)],
        "piper": [embedder.embed(piper[f"neutral/{i}"].samples, SR) for i in range(3)],
    }


def test_one_voice_per_role_passes(embedded):
    distance = TimbreEmbedder().distance
    result = speaker_consistency(
        {"user": embedded["hibari"], "assistant": embedded["piper"]}, distance
    )
    assert max(result.within.values()) < result.between
    assert result.passed and result.ratio < 0.75 and result.strays == []


def test_two_voices_in_one_role_fail(embedded):
    distance = TimbreEmbedder().distance
    mixed = [embedded["hibari"][0], embedded["piper"][1], embedded["hibari"][2]]
    result = speaker_consistency({"user": mixed, "assistant": embedded["piper"][::2]}, distance)
    assert not result.passed and result.ratio > 0.75
    assert ("user", 1) in result.strays  # the piper turn sits with the assistant


def test_one_turn_per_role_has_nothing_to_hold_and_one_role_is_an_error(embedded):
    single = speaker_consistency(
        {"user": embedded["hibari"][:1], "assistant": embedded["piper"][:1]}
    )
    assert single.passed and np.isnan(single.ratio) and single.between > 0
    with pytest.raises(ValueError, match="two roles"):
        speaker_consistency({"user": embedded["hibari"], "assistant": []})


def test_cosine_distance():
    assert cosine_distance([1.0, 0.0], [2.0, 0.0]) == pytest.approx(0.0)
    assert cosine_distance([1.0, 0.0], [0.0, 3.0]) == pytest.approx(1.0)
    assert cosine_distance([1.0, 0.0], [-1.0, 0.0]) == pytest.approx(2.0)


def tiny_xvector_model(folder) -> None:
    import torch
    from transformers import Wav2Vec2FeatureExtractor, WavLMConfig, WavLMForXVector

    config = WavLMConfig(
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8, 8, 8),
        conv_kernel=(10, 4, 4),
        conv_stride=(5, 4, 4),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        num_buckets=16,
        max_bucket_distance=32,
        tdnn_dim=(8, 8),
        tdnn_kernel=(3, 1),
        tdnn_dilation=(1, 1),
        xvector_output_dim=6,
    )
    torch.manual_seed(0)
    WavLMForXVector(config).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(sampling_rate=16000).save_pretrained(folder)


def test_transformers_embedder_on_a_tiny_random_model(tmp_path, hibari, piper):
    tiny_xvector_model(tmp_path)
    embedder = make_speaker_embedder("transformers", model=str(tmp_path))
    audio = hibari["neutral/0"].resampled(22050)
    vector = embedder.embed(audio.samples, audio.sample_rate)
    assert vector.shape == (6,) and np.isfinite(vector).all()
    assert np.array_equal(embedder.embed(audio.samples, audio.sample_rate), vector)
    other = embedder.embed(piper["neutral/0"].samples, SR)
    assert embedder.distance(vector, vector) == pytest.approx(0.0, abs=1e-6)
    assert embedder.distance(vector, other) > 1e-4


def test_unknown_embedder_name():
    with pytest.raises(ValueError, match="allowed: timbre, transformers"):
        make_speaker_embedder("ecapa")
