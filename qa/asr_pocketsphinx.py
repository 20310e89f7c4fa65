"""PocketSphinx ASR: the light fallback, with the US English model the package ships.

CMU Sphinx's continuous HMM decoder with the packaged en-us acoustic model, language model
and dictionary; no download, ~40 MB, RTF 0.1-0.3 on one core. Its WER is far above
Whisper's (47-92 % on espeak-ng), so it suits smoke runs and machines without faster-whisper,
not quality gates. Word timings come from the decoder's segmentation (10 ms frames); the
confidence is the mean posterior probability of the recognised words.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from dialogsmith.tts_backends.base import Audio

from .asr import Transcript

SPHINX_SR = 16000
_FILLER = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+)$")  # <s>, </s>, <sil>, [NOISE], ++UH++
_ALTERNATE = re.compile(r"\(\d+\)$")  # "next(2)": the dictionary's second pronunciation


class PocketsphinxASR:
    """`model`: "en-us" (the packaged model) or a folder holding a PocketSphinx acoustic model;
    `lm` / `dictionary`: files that replace the packaged ones."""

    name = "pocketsphinx"

    def __init__(
        self, model: str = "en-us", lm: str | None = None, dictionary: str | None = None
    ) -> None:
        self.model = model
        self.lm = lm
        self.dictionary = dictionary
        self._decoder: Any = None
        self._frame_rate = 100

    def setup(self) -> None:
        if self._decoder is not None:
            return
        try:
            from pocketsphinx import Decoder, get_model_path
        except ImportError as e:
            raise ImportError("PocketsphinxASR needs `pip install pocketsphinx`") from e
        options: dict[str, Any] = {"samprate": SPHINX_SR, "loglevel": "FATAL"}
        if self.model != "en-us":
            options["hmm"] = self.model
        elif self.lm or self.dictionary:
            options["hmm"] = f"{get_model_path()}/en-us/en-us"
        if self.lm:
            options["lm"] = self.lm
        if self.dictionary:
            options["dict"] = self.dictionary
        self._decoder = Decoder(**options)
        self._frame_rate = int(self._decoder.config["frate"])

    def transcribe(self, audio: Audio) -> Transcript:
        self.setup()
        samples = audio.resampled(SPHINX_SR).samples
        if samples.size == 0 or not np.any(samples):
            return Transcript(text="", confidence=0.0)
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16).tobytes()
        decoder = self._decoder
        decoder.reinit_feat()  # CMN and noise estimates would carry over from the last turn
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        words: list[tuple[str, float, float]] = []
        probs: list[float] = []
        for seg in decoder.seg():
            if _FILLER.match(seg.word):
                continue
            word = _ALTERNATE.sub("", seg.word)
            start, end = seg.start_frame / self._frame_rate, (seg.end_frame + 1) / self._frame_rate
            words.append((word, start, end))
            probs.append(min(1.0, max(0.0, float(seg.prob))))
        confidence = float(np.mean(probs)) if probs else 0.0
        return Transcript(" ".join(w for w, _, _ in words), confidence, words)
