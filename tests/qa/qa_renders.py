"""Sentences and styles of the shared qa renderings (the fixtures are in this folder's
conftest.py; tests import constants from here, not from a conftest)."""

from __future__ import annotations

SENTENCES = (
    "Could you tell me when the next train to the city leaves?",
    "My sister bought a blue bicycle at the market yesterday.",
    "Please remind me to call the dentist tomorrow morning.",
)
SR = 16000
USED_STYLES = (
    *("neutral", "speed=fast", "speed=slow", "volume=loud", "volume=low"),
    *("emotion=sad", "emotion=angry", "emotion=happy"),
)


def named_styles() -> dict:
    """`USED_STYLES` as the voice stage's tables give them, without the jitter."""
    from dialogsmith.config import StyleConfig
    from dialogsmith.tts_backends import TurnStyle

    table = StyleConfig()
    styles = {"neutral": TurnStyle()}
    styles |= {f"speed={k}": TurnStyle(speed=v) for k, v in table.speed_factor.items()}
    styles |= {f"volume={k}": TurnStyle(gain_db=v) for k, v in table.volume_gain_db.items()}
    for name, (rate, pitch, gain, spread) in table.emotion_prosody.items():
        styles[f"emotion={name}"] = TurnStyle(rate, gain, pitch, spread)
    return {k: v for k, v in styles.items() if k in USED_STYLES}


def render_hibari() -> dict:
    """ "neutral/<i>" for each sentence; "<style>" for sentence 1 in every used style."""
    from dialogsmith.tts_backends import make_backend

    tts = make_backend("hibari")
    voice = tts.voices()[0]
    out = {
        f"neutral/{i}": tts.synthesize(s, voice, named_styles()["neutral"])
        for i, s in enumerate(SENTENCES)
    }
    out |= {k: tts.synthesize(SENTENCES[1], voice, style) for k, style in named_styles().items()}
    return {k: a.resampled(SR) for k, a in out.items()}


def render_piper() -> dict:
    """ "neutral/<i>" for each sentence by piper's joe (male)."""
    from dialogsmith.tts_backends import TurnStyle, make_backend
    from dialogsmith.tts_backends.registry import resolve_voice

    tts = make_backend("piper")
    voice = resolve_voice("piper:en_US-joe-medium")
    return {
        f"neutral/{i}": tts.synthesize(s, voice, TurnStyle()).resampled(SR)
        for i, s in enumerate(SENTENCES)
    }
