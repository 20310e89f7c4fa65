"""Mandarin through espeak-ng: Chinese text renders to speech, also through a bank timbre."""

from __future__ import annotations

import numpy as np
import pytest

from dialogsmith.tts_backends import TurnStyle, make_backend
from dialogsmith.tts_backends.base import REFERENCE_LEVEL_DB, speech_level_db
from dialogsmith.tts_backends.prosody import f0_hz
from dialogsmith.tts_backends.registry import resolve_voice
from dialogsmith.tts_backends.timbre import build_timbre_bank

TEXT = "你好，我想预订今晚两个人的座位。"  # 15 syllables


def test_espeak_declares_mandarin_voices_of_both_genders():
    backend = make_backend("espeak-ng")
    zh = [v for v in backend.voices() if v.language == "zh"]
    assert "zh" in backend.capabilities.languages
    assert {v.gender for v in zh} == {"female", "male"}
    assert {v.param("language") for v in zh} == {"cmn-latn-pinyin"}


@pytest.mark.parametrize("ref", ["espeak-ng:cmn-latn-pinyin+f2", "espeak-ng:cmn-latn-pinyin+m3"])
def test_chinese_text_renders_to_speech(ref):
    backend = make_backend("espeak-ng")
    voice = resolve_voice(ref)
    audio = backend.synthesize(TEXT, voice, TurnStyle())
    assert np.isfinite(audio.samples).all()
    assert 2.0 < audio.duration_s < 6.0  # about 3-5 syllables a second
    assert speech_level_db(audio.samples, audio.sample_rate) == pytest.approx(
        REFERENCE_LEVEL_DB, abs=0.1
    )
    assert len(f0_hz(audio.samples, audio.sample_rate)) > 50  # voiced 10 ms frames
    fast = backend.synthesize(TEXT, voice, TurnStyle(speed=1.5))
    assert fast.duration_s < 0.8 * audio.duration_s


def test_mandarin_bank_timbre_keeps_language_and_renders():
    spec = build_timbre_bank(["espeak-ng:cmn-latn-pinyin+f2"], per_base=2, seed=0)[1]
    voice = spec.voice()
    assert (voice.language, voice.param("age")) == ("zh", "elderly")
    audio = make_backend("espeak-ng").synthesize(TEXT, voice, TurnStyle())
    median = np.median(f0_hz(audio.samples, audio.sample_rate))
    assert median == pytest.approx(spec.pitch_median_hz, rel=0.08)
