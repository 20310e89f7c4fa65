"""Whisper through `transformers`: the production ASR path (large-v3 and friends on a GPU).

`model` is a hub id ("openai/whisper-large-v3", fetched once into the HF cache) or a local
folder holding a `WhisperForConditionalGeneration` and its `WhisperProcessor`. Decoding is
greedy, one turn at a time, on 30 s windows (a longer turn is cut into consecutive windows
and their texts joined), so a result never depends on batching or on other turns. The
confidence is exp(mean log-probability) of the generated tokens, as for faster-whisper.
Word timings are left empty: they need the model's alignment heads, which only the
original checkpoints carry; `FasterWhisperASR` gives them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dialogsmith.tts_backends.base import Audio

from .asr import WHISPER_SR, Transcript

WINDOW_S = 30  # Whisper's fixed input length


class TransformersWhisperASR:
    """`language` / `task` are passed to `generate` for multilingual checkpoints only
    (an English-only ".en" model takes neither)."""

    name = "transformers-whisper"

    def __init__(
        self,
        model: str = "openai/whisper-large-v3",
        device: str = "cpu",
        dtype: str = "float32",
        language: str | None = None,
        task: str | None = None,
        max_new_tokens: int = 200,
    ) -> None:
        self.model = model
        self.device = device
        self.dtype = dtype
        self.language = language
        self.task = task
        self.max_new_tokens = max_new_tokens
        self._model: Any = None
        self._processor: Any = None

    def setup(self) -> None:
        if self._model is not None:
            return
        try:
            import torch
            from transformers import WhisperForConditionalGeneration, WhisperProcessor
        except ImportError as e:
            raise ImportError("TransformersWhisperASR needs `pip install transformers`") from e
        self._processor = WhisperProcessor.from_pretrained(self.model)
        model = WhisperForConditionalGeneration.from_pretrained(
            self.model, dtype=getattr(torch, self.dtype)
        )
        self._model = model.to(self.device).eval()

    def transcribe(self, audio: Audio) -> Transcript:
        self.setup()
        samples = audio.resampled(WHISPER_SR).samples
        if samples.size == 0:
            return Transcript(text="", confidence=0.0)
        step = WINDOW_S * WHISPER_SR
        texts, logprobs = [], []
        for start in range(0, len(samples), step):
            text, window_logprobs = self._decode(samples[start : start + step])
            texts.append(text)
            logprobs.extend(window_logprobs)
        confidence = float(np.exp(np.mean(logprobs))) if logprobs else 0.0
        return Transcript(text=" ".join(t for t in texts if t), confidence=min(1.0, confidence))

    def _decode(self, samples: np.ndarray) -> tuple[str, list[float]]:
        import torch

        inputs = self._processor(samples, sampling_rate=WHISPER_SR, return_tensors="pt")
        features = inputs.input_features.to(self.device, dtype=self._model.dtype)
        options: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": False}
        if self.language:
            options["language"] = self.language
        if self.task:
            options["task"] = self.task
        with torch.inference_mode():
            out = self._model.generate(
                features, return_dict_in_generate=True, output_scores=True, **options
            )
            scores = self._model.compute_transition_scores(
                out.sequences, out.scores, normalize_logits=True
            )
        text = self._processor.batch_decode(out.sequences, skip_special_tokens=True)[0].strip()
        finite = scores[0][torch.isfinite(scores[0])]
        return text, [float(v) for v in finite.float().cpu()]
