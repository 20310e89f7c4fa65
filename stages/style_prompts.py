"""Turn labels -> a natural-language style prompt for the MDN style sampler.

Each label fixes the bins it speaks for (indices into `style_text.LABELS`); dimensions no
label constrains are left out of the prompt, so the sampler draws them from its prior.
"""

from __future__ import annotations

import random

from dialogsmith.tts_backends.style_text import describe_bins

SPEED_RATE = {"slow": 0, "normal": 3, "fast": 6}
VOLUME_LOUDNESS = {"low": 0, "normal": 2, "loud": 4}
EMOTION_BINS: dict[str, dict[str, int]] = {
    "neutral": {"pitch": 3, "monotony": 1},
    "happy": {"pitch": 5, "monotony": 3},
    "sad": {"pitch": 1, "monotony": 0, "rate": 2},
    "angry": {"pitch": 4, "monotony": 3, "loudness": 3},
    "surprised": {"pitch": 6, "monotony": 4},
    "fearful": {"pitch": 5, "rate": 5},
    "disgusted": {"pitch": 2, "monotony": 1, "rate": 2},
}


def style_prompt(labels: dict[str, str], gender: str, seed: int) -> str:
    bins = dict(EMOTION_BINS[labels.get("emotion", "neutral")])
    if labels.get("speed", "normal") != "normal" or "rate" not in bins:
        bins["rate"] = SPEED_RATE[labels.get("speed", "normal")]
    if labels.get("volume", "normal") != "normal" or "loudness" not in bins:
        bins["loudness"] = VOLUME_LOUDNESS[labels.get("volume", "normal")]
    return describe_bins(bins, gender, random.Random(seed), mention=tuple(bins))
