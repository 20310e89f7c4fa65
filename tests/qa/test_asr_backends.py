"""PocketSphinx on real renderings, Whisper through transformers on a tiny random checkpoint
built here (no hub), and the `make_asr` factory."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dialogsmith.qa.asr import ASR_BACKENDS, FasterWhisperASR, Transcript, make_asr
from dialogsmith.qa.wer import word_error_rate
from dialogsmith.tts_backends import Audio, TurnStyle, make_backend

TEXT = "Could you tell me when the next train to the city leaves?"
LETTERS = "abcdefghijklmnopqrstuvwxyz"
SPECIALS = (
    *("<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|translate|>"),
    *("<|startoflm|>", "<|startofprev|>", "<|nocaptions|>", "<|notimestamps|>"),
)


@pytest.fixture(scope="module")
def hibari_turn() -> Audio:
    tts = make_backend("hibari")
    return tts.synthesize(TEXT, tts.voices()[0], TurnStyle())


def test_factory_names_every_backend_and_rejects_unknown():
    assert isinstance(make_asr("faster-whisper"), FasterWhisperASR)
    assert make_asr("pocketsphinx").name == "pocketsphinx"
    assert make_asr("transformers", model="x").model == "x"
    assert set(ASR_BACKENDS) == {"faster-whisper", "pocketsphinx", "transformers"}
    with pytest.raises(ValueError, match="allowed: faster-whisper"):
        make_asr("kaldi")


def test_pocketsphinx_transcribes_a_rendering_with_word_timings(hibari_turn):
    asr = make_asr("pocketsphinx")
    result = asr.transcribe(hibari_turn)
    assert word_error_rate(TEXT, result.text) < 0.5
    assert 0.3 < result.confidence <= 1.0
    assert [w for w, _, _ in result.words] == result.text.split()
    assert "(" not in result.text and "<" not in result.text  # no alternates or fillers
    starts = [s for _, s, _ in result.words]
    assert starts == sorted(starts) and result.words[-1][2] <= hibari_turn.duration_s + 0.05
    # the decoder's noise and CMN state is reset per turn: the order of turns does not matter
    other = Audio(0.1 * np.random.default_rng(0).standard_normal(32000), 16000)
    asr.transcribe(other)
    assert asr.transcribe(hibari_turn) == result


def test_pocketsphinx_hears_nothing_in_silence_and_noise():
    asr = make_asr("pocketsphinx")
    assert asr.transcribe(Audio(np.zeros(16000), 16000)) == Transcript("", 0.0)
    noise = Audio(0.05 * np.random.default_rng(1).standard_normal(32000), 16000)
    assert word_error_rate(TEXT, asr.transcribe(noise).text) >= 0.9


def tiny_whisper(folder) -> None:
    """A randomly initialised two-layer Whisper with a 26-letter byte-level BPE tokenizer."""
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    vocab = {tok: i for i, tok in enumerate([*LETTERS, "Ġ"])}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    end = SPECIALS[0]
    tokenizer = WhisperTokenizer(
        str(folder / "vocab.json"), str(folder / "merges.txt"), unk_token=end, bos_token=end
    )
    tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIALS[1:])})
    special = tokenizer.convert_tokens_to_ids(list(SPECIALS))
    eos, start = special[0], special[1]
    config = WhisperConfig(
        vocab_size=len(tokenizer),
        num_mel_bins=80,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_target_positions=64,
        pad_token_id=eos,
        bos_token_id=eos,
        eos_token_id=eos,
        decoder_start_token_id=start,
    )
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=start,
        eos_token_id=eos,
        pad_token_id=eos,
        suppress_tokens=special[1:],  # random weights would mostly emit special tokens
        max_length=64,
    )
    model.save_pretrained(folder)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=80), tokenizer).save_pretrained(folder)


def test_transformers_whisper_loads_a_local_checkpoint_and_transcribes(tmp_path):
    tiny_whisper(tmp_path)
    asr = make_asr("transformers", model=str(tmp_path), device="cpu", max_new_tokens=8)
    asr.setup()
    rng = np.random.default_rng(2)
    audio = Audio(0.1 * rng.standard_normal(22050).astype(np.float32), 22050)  # resampled
    result = asr.transcribe(audio)
    assert isinstance(result, Transcript) and result.words == []
    assert result.text and set(result.text) <= set(LETTERS + " ")  # decoded, specials dropped
    assert 0.0 < result.confidence <= 1.0
    assert asr.transcribe(audio) == result  # greedy: deterministic
    long = Audio(np.tile(audio.resampled(16000).samples, 31), 16000)  # 31 s: two windows
    assert len(asr.transcribe(long).text) > len(result.text)
    assert asr.transcribe(Audio(np.zeros(0, np.float32), 16000)) == Transcript("", 0.0)
