"""Benchmark the verification checks on real renders: speed (RTF) of each check, the pass
rate of the attribute rules on correctly labelled turns, and the share of deliberately
mislabelled turns they catch (a slow render labelled fast, a laugh labelled a cough, ...).

Turns are styled as the voice stage styles them (`stages.voice.style_for`: the `StyleConfig`
tables with their seeded jitter), rendered at 16 kHz, and each is judged against one neutral
turn of another sentence by the same voice, as in a four-turn dialogue.

Usage: python -m dialogsmith.qa.check_bench [--voices hibari:heart,flite:slt] [--sentences 6]
       [--room SEED] [--out report.json]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .attribute_checks import CheckThresholds, TurnInput, check_turn
from .turn_measures import measure_turn, speaker_reference

SR = 16000
VOICES = (
    "hibari:heart",
    "piper:en_US-joe-medium",
    "flite:slt",
    "flite:rms",
    "hibari:heart~f0.93-p91-r0.91",
    "piper:en_US-joe-medium~f1.08-p228-r1.16",
)
SENTENCES = (
    "I would like some help with this today.",
    "Could you tell me when the next train to the city leaves?",
    "My sister bought a blue bicycle at the market yesterday.",
    "Can you check whether my package has already been shipped?",
    "We missed the bus again, so we had to walk all the way home.",
    "Please remind me to call the dentist tomorrow morning.",
    "I really think the new kitchen looks wonderful.",
    "How much does a ticket to the museum cost for two adults?",
)
STRESSED_WORDS = ("help", "train", "bicycle", "package", "walk", "dentist", "kitchen", "museum")
WRONG = {  # label -> the wrong label a mislabelled turn carries
    ("speed", "fast"): "slow",
    ("speed", "slow"): "fast",
    ("speed", "normal"): "fast",
    ("volume", "loud"): "low",
    ("volume", "low"): "loud",
    ("volume", "normal"): "loud",
    ("gender", "female"): "male",
    ("gender", "male"): "female",
    ("fidelity", "low"): "normal",
    ("fidelity", "normal"): "low",
    ("non_verbal", "laughter"): "cough",
    ("non_verbal", "sigh"): "laughter",
    ("non_verbal", "cough"): "sigh",
}
EMOTION_WRONG = {  # each emotion's nearest profile in the classifier's space: the hard case
    "neutral": "disgusted",
    "happy": "surprised",
    "sad": "disgusted",
    "angry": "happy",
    "surprised": "happy",
    "fearful": "happy",
    "disgusted": "neutral",
}


class Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.audio_s: dict[str, float] = defaultdict(float)

    def run(self, name: str, audio_s: float, fn: Callable, *args, **kwargs):
        started = time.perf_counter()
        out = fn(*args, **kwargs)
        self.seconds[name] += time.perf_counter() - started
        self.audio_s[name] += audio_s
        return out

    def rtf(self) -> dict[str, float]:
        return {k: round(self.seconds[k] / self.audio_s[k], 4) for k in self.seconds}


def render_cases(voice_refs, sentences):
    """(voice, sentence index, {attribute: label}, TurnInput, neutral TurnInput) per case."""
    from dialogsmith.config import StyleConfig
    from dialogsmith.records import Turn
    from dialogsmith.stages.voice import style_for
    from dialogsmith.tts_backends.base import Audio
    from dialogsmith.tts_backends.nonverbal import attach_nonverbal, synthesize_nonverbal
    from dialogsmith.tts_backends.prosody import emphasize_span, estimate_word_span
    from dialogsmith.tts_backends.registry import make_backend, resolve_voice

    table, rng = StyleConfig(), np.random.default_rng(0)
    backends = {}
    for ref in voice_refs:
        voice = resolve_voice(ref)
        tts = backends.setdefault(voice.backend, make_backend(voice.backend))

        def render(text, labels, tts=tts, voice=voice):
            style = style_for(Turn(0, "user", text, labels), table, rng)
            return tts.synthesize(text, voice, style).resampled(SR)

        neutral = [render(s, {}) for s in sentences]
        for i, text in enumerate(sentences):
            other = (i + 1) % len(sentences)
            ref_turn = TurnInput(neutral[other].samples, SR, sentences[other])
            plain = TurnInput(neutral[i].samples, SR, text)
            yield ref, i, {"gender": voice.gender}, plain, ref_turn
            for attr in ("speed", "volume"):  # a second neutral render: its own jitter
                again = TurnInput(render(text, {}).samples, SR, text)
                yield ref, i, {attr: "normal"}, again, ref_turn
            for attr, values in (
                ("speed", ("slow", "fast")),
                ("volume", ("low", "loud")),
                ("emotion", tuple(table.emotion_prosody)),
            ):
                for value in values:
                    audio = render(text, {attr: value})
                    yield ref, i, {attr: value}, TurnInput(audio.samples, SR, text), ref_turn
            narrow = Audio(neutral[i].samples, SR).resampled(8000).resampled(SR)
            yield ref, i, {"fidelity": "low"}, TurnInput(narrow.samples, SR, text), ref_turn
            yield ref, i, {"fidelity": "normal"}, plain, ref_turn
            word = STRESSED_WORDS[i % len(STRESSED_WORDS)]
            span = estimate_word_span(neutral[i].samples, SR, text, word)
            if span is not None:
                stressed = emphasize_span(neutral[i].samples, SR, *span)
                yield ref, i, {"stress": "stressed"}, TurnInput(stressed, SR, text, 0.0, span), None
                unstressed = TurnInput(neutral[i].samples, SR, text, 0.0, span)
                yield ref, i, {"stress": "unstressed-as-stressed"}, unstressed, None
            kind = ("laughter", "sigh", "cough")[i % 3]
            sound = synthesize_nonverbal(kind, tts, voice, SR, seed=i)
            joined, start, end = attach_nonverbal(neutral[i], sound)
            speech_start = joined.duration_s - neutral[i].duration_s
            nv = TurnInput(joined.samples, SR, text, speech_start, None, (start, end))
            yield ref, i, {"non_verbal": kind}, nv, None


def in_rooms(cases, seed: int):
    """The cases with every turn reverberated in a room drawn per voice (RT60 0.2-0.6 s, the
    scene's default ranges), as the verify stage hears a user channel with a room."""
    import zlib
    from dataclasses import replace as with_

    from dialogsmith.stages.scene_room import (
        reverberate,
        room_impulse_response,
        sample_room_spec,
    )

    rirs = {}
    for voice, i, labels, turn, ref_turn in cases:
        if voice not in rirs:
            room = sample_room_spec(seed + zlib.crc32(voice.encode()))
            rirs[voice] = room_impulse_response(room, "user", SR)
        wet = with_(turn, samples=reverberate(turn.samples, rirs[voice]))
        ref_wet = ref_turn and with_(ref_turn, samples=reverberate(ref_turn.samples, rirs[voice]))
        yield voice, i, labels, wet, ref_wet


def judge(cases, thresholds: CheckThresholds, timer: Timer) -> dict:
    """Pass rates of the rules on right labels and detection rates on wrong ones."""
    from .emotion import ProsodicEmotionClassifier

    classifier = ProsodicEmotionClassifier()
    right, wrong = defaultdict(list), defaultdict(list)
    for _voice, _i, labels, turn, ref_turn in cases:
        reference = None
        if ref_turn is not None:
            reference = speaker_reference([measure_turn(ref_turn.samples, SR, ref_turn.text)])
        ((attr, label),) = labels.items()
        duration = len(turn.samples) / SR
        if label == "unstressed-as-stressed":
            checks = check_turn(turn, {attr: "stressed"}, reference, thresholds)
            wrong[f"{attr}=stressed (unstressed render)"].append(not checks[-1].passed)
            continue
        checks = timer.run(
            "attribute checks (measure + rules)",
            duration,
            check_turn,
            turn,
            labels,
            reference,
            thresholds,
            classifier,
        )
        right[f"{attr}={label}"].append(checks[-1].passed)
        bad = EMOTION_WRONG.get(label) if attr == "emotion" else WRONG.get((attr, label))
        if bad is not None:
            checks = check_turn(turn, {attr: bad}, reference, thresholds, classifier)
            wrong[f"{attr}={bad} (render {label})"].append(not checks[-1].passed)
        if attr == "emotion":  # the stricter rule: the label must come first
            strict = replace(thresholds, emotion_top_k=1)
            for name, claim, store, ok in (("", label, right, True), (" wrong", bad, wrong, False)):
                checks = check_turn(turn, {attr: claim}, reference, strict, classifier)
                store[f"{attr}={claim} [top 1]{name} (render {label})"].append(
                    checks[-1].passed == ok
                )
    rate = {k: f"{np.mean(v):.2f} of {len(v)}" for k, v in sorted(right.items())}
    caught = {k: f"{np.mean(v):.2f} of {len(v)}" for k, v in sorted(wrong.items())}
    return {"pass_rate_right_labels": rate, "detection_rate_wrong_labels": caught}


def time_components(cases, timer: Timer) -> dict:
    """RTF of ASR, VAD, emotion and speaker embedding on the plain neutral turns."""
    from dialogsmith.tts_backends.base import Audio

    from .asr import make_asr
    from .emotion import ProsodicEmotionClassifier
    from .speaker import TimbreEmbedder
    from .vad import make_vad
    from .wer import word_error_rate

    plain = [(turn, voice) for voice, _i, labels, turn, _r in cases if "gender" in labels]
    parts = {
        "asr faster-whisper tiny.en": make_asr("faster-whisper"),
        "asr pocketsphinx": make_asr("pocketsphinx"),
    }
    wer = defaultdict(list)
    for name, asr in parts.items():
        asr.setup()
        for turn, _voice in plain:
            audio = Audio(turn.samples, SR)
            result = timer.run(name, audio.duration_s, asr.transcribe, audio)
            wer[name].append(word_error_rate(turn.text, result.text))
    for name in ("silero", "energy"):
        vad = make_vad(name)
        vad.setup()
        for turn, _voice in plain:
            timer.run(f"vad {name}", len(turn.samples) / SR, vad.speech_regions, turn.samples, SR)
    emotion, embedder = ProsodicEmotionClassifier(), TimbreEmbedder()
    for turn, _voice in plain:
        duration = len(turn.samples) / SR
        timer.run("emotion prosodic", duration, emotion.classify, turn.samples, SR, None, turn.text)
        timer.run("speaker timbre embedding", duration, embedder.embed, turn.samples, SR)
    return {"mean_wer": {k: round(float(np.mean(v)), 3) for k, v in wer.items()}}


def speaker_trials(cases) -> dict:
    """Every ordered pair of voices as user and assistant (three neutral assistant turns).
    The user has two neutral turns, or two neutral and one surprised turn (the emotion that
    moves the timbre embedding most); each negative trial gives one user turn to a third
    voice."""
    from .speaker import TimbreEmbedder, speaker_consistency

    embedder = TimbreEmbedder()
    neutral, surprised = defaultdict(list), defaultdict(list)
    for voice, _i, labels, turn, _r in cases:
        if "gender" in labels:
            neutral[voice].append(embedder.embed(turn.samples, SR))
        elif labels.get("emotion") == "surprised":
            surprised[voice].append(embedder.embed(turn.samples, SR))
    voices = sorted(neutral)
    report = {}
    for name, styled in (("neutral user turns", []), ("plus a surprised user turn", [2])):
        same, mixed = [], []
        for a, b in ((a, b) for a in voices for b in voices if a != b):
            extra = [surprised[a][i] for i in styled]
            assistant = neutral[b][3:6]
            same.append(
                speaker_consistency(
                    {"user": [*neutral[a][:2], *extra], "assistant": assistant}
                ).passed
            )
            for third in (c for c in voices if c not in (a, b)):
                user = [neutral[a][0], neutral[third][1], *extra]
                mixed.append(not speaker_consistency({"user": user, "assistant": assistant}).passed)
        report[name] = {
            "one_voice_passed": f"{np.mean(same):.2f} of {len(same)}",
            "two_voices_caught": f"{np.mean(mixed):.2f} of {len(mixed)}",
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voices", default=",".join(VOICES))
    parser.add_argument("--sentences", type=int, default=len(SENTENCES))
    parser.add_argument("--room", type=int, help="reverberate every turn, rooms from this seed")
    parser.add_argument("--out")
    args = parser.parse_args()
    timer = Timer()
    started = time.perf_counter()
    cases = list(render_cases(args.voices.split(","), SENTENCES[: args.sentences]))
    if args.room is not None:
        cases = list(in_rooms(cases, args.room))
    report = {"cases": len(cases), "render_s": round(time.perf_counter() - started, 1)}
    report |= judge(cases, CheckThresholds(), timer)
    report |= time_components(cases, timer)
    report |= {"speaker_consistency": speaker_trials(cases), "rtf": timer.rtf()}
    text = json.dumps(report, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
