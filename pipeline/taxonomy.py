"""Attribute values the planner samples from (the full VoxDialogue taxonomy comes later)."""

from __future__ import annotations

ATTRIBUTE_VALUES: dict[str, tuple[str, ...]] = {
    "gender": ("male", "female"),
    "emotion": ("neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted"),
    "speed": ("slow", "normal", "fast"),
    "volume": ("low", "normal", "loud"),
}

NEUTRAL_VALUE: dict[str, str] = {"emotion": "neutral", "speed": "normal", "volume": "normal"}
"""The unmarked value of each paralinguistic attribute, used on turns that carry nothing."""
