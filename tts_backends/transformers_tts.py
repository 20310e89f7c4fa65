"""VITS voices through `transformers` (`VitsModel`): the production neural backend on a GPU.

A voice is a model, named by a hub id ("transformers:facebook/mms-tts-eng") or an absolute
local folder written by `save_pretrained` ("transformers:/models/my-vits"). Labels come from
a voice card: `VOICE_CARDS` for known hub ids, or a `dialogsmith_voice.json` file in a local
folder (`{"gender": "female", "accent": "us", "language": "en"}`), so a voice's labels are
written down once, not guessed.

Speed is the model's own `speaking_rate` (durations / speed); pitch, F0 range and timbre are
done with Praat by the base class. VITS samples noise for its durations and latents from
torch's global generators, so each turn runs inside `torch.random.fork_rng` seeded from the
voice and the text: the same turn gives the same samples, whatever ran before it, and the
caller's random state is left as it was.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .base import STYLE_DIMS, Audio, Capabilities, TTSBackend, TurnStyle, VoiceSpec

CARD_FILE = "dialogsmith_voice.json"
# MMS single-speaker checkpoints are male readers (fairseq#5345 asks for a female one); the
# accent of the MMS English reader is not documented, so it is not labelled.
VOICE_CARDS = {
    "facebook/mms-tts-eng": {"gender": "male", "accent": "unlabelled", "language": "en"},
    "kakao-enterprise/vits-ljs": {"gender": "female", "accent": "us", "language": "en"},
}


class TransformersVitsBackend(TTSBackend):
    name = "transformers"

    def __init__(self, device: str | None = None, dtype: str = "float32") -> None:
        """`device`: "cuda", "cuda:1", "cpu"; None picks cuda when torch sees a GPU."""
        super().__init__()
        self.device = device
        self.dtype = dtype
        self._models: dict[str, tuple[Any, Any]] = {}  # voice name -> (model, tokenizer)
        self._local: dict[str, VoiceSpec] = {}

    @property
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        languages = frozenset(v.language for v in self.voices())
        return Capabilities(languages=languages, honours=STYLE_DIMS, natural=True)

    def voices(self) -> list[VoiceSpec]:
        """The known hub voices and the local ones resolved so far."""
        known = [_voice(name, card) for name, card in VOICE_CARDS.items()]
        return known + list(self._local.values())

    def voice(self, name: str) -> VoiceSpec:
        if name in VOICE_CARDS:
            return _voice(name, VOICE_CARDS[name])
        if name not in self._local:
            self._local[name] = _voice(name, _read_card(name))
        return self._local[name]

    def _load(self) -> None:
        try:
            import torch
        except ImportError as e:
            raise ImportError("transformers backend needs `pip install torch transformers`") from e
        if self.device is None:
            self.device = "cuda" if torch.cuda.is_available() else "cpu"

    def _model(self, voice: VoiceSpec) -> tuple[Any, Any]:
        if voice.name not in self._models:
            import torch
            from transformers import AutoTokenizer, VitsModel

            dtype = getattr(torch, self.dtype)
            model = VitsModel.from_pretrained(voice.name, dtype=dtype).to(self.device).eval()
            self._models[voice.name] = model, AutoTokenizer.from_pretrained(voice.name)
        return self._models[voice.name]

    def _render(self, text: str, voice: VoiceSpec, style: TurnStyle) -> Audio:
        import torch

        model, tokenizer = self._model(voice)
        inputs = tokenizer(text, return_tensors="pt").to(self.device)
        if inputs["input_ids"].shape[-1] < 2:  # only the blank: nothing the model can say
            raise ValueError(f"transformers: {voice.name!r} has no symbols for {text!r}")
        cuda = [torch.device(self.device).index or 0] if self.device.startswith("cuda") else []
        with torch.random.fork_rng(devices=cuda), torch.inference_mode():
            torch.manual_seed(zlib.crc32(f"{voice.name}\n{text}".encode()))
            out = model(**inputs, speaking_rate=style.speed)
        samples = out.waveform[0].float().cpu().numpy().astype(np.float32)
        return Audio(samples, int(model.config.sampling_rate))


def _voice(name: str, card: dict[str, str]) -> VoiceSpec:
    return VoiceSpec(
        backend="transformers",
        name=name,
        gender=card["gender"],
        accent=card.get("accent", "unlabelled"),
        language=card.get("language", "en"),
    )


def _read_card(name: str) -> dict[str, str]:
    path = Path(name) / CARD_FILE
    if not Path(name).is_absolute() or not path.is_file():
        raise ValueError(
            f"transformers: unknown voice {name!r}; allowed: the hub ids "
            f"{', '.join(sorted(VOICE_CARDS))}, or an absolute model folder holding {CARD_FILE} "
            '({"gender": "female", "accent": "us", "language": "en"})'
        )
    card = json.loads(path.read_text())
    if card.get("gender") not in ("female", "male"):
        raise ValueError(f"{path}: 'gender' must be 'female' or 'male', not {card.get('gender')!r}")
    return card
