"""A pool of user identities: each keeps its gender, age, accent and language in every dialogue.

Identity k's attributes cycle through the taxonomy's values, so any pool of a few dozen covers
every combination evenly; the voice stage maps an identity to one timbre.
"""

from __future__ import annotations

import numpy as np

from dialogsmith.records import SpeakerSpec
from dialogsmith.taxonomy import ATTRIBUTE_VALUES

SPEAKER_ATTRIBUTES = ("gender", "age", "accent")


class SpeakerPool:
    """`attributes` beyond gender (age, accent) are given to identities only when planned, so a
    label is never attached to a speaker unless the job asked for it."""

    def __init__(self, size: int, attributes: set[str], realisable_only: bool = True) -> None:
        self.realisable_only = realisable_only
        self.by_language = {
            lang: self._build(lang, size, attributes) for lang in ATTRIBUTE_VALUES["language"]
        }

    def _build(self, language: str, size: int, attributes: set[str]) -> list[SpeakerSpec]:
        from dialogsmith.stages.plan import plannable_values

        genders = ATTRIBUTE_VALUES["gender"]
        ages = ATTRIBUTE_VALUES["age"] if "age" in attributes else (None,)
        with_accent = "accent" in attributes and language == "en"
        accents = plannable_values("accent", self.realisable_only) if with_accent else (None,)
        return [
            SpeakerSpec(
                speaker_id=f"spk-{language}-{k:04d}",
                role="user",
                gender=genders[k % len(genders)],
                age=ages[(k // len(genders)) % len(ages)],
                accent=accents[(k // (len(genders) * len(ages))) % len(accents)],
                language=language,
            )
            for k in range(size)
        ]

    def pick(self, rng: np.random.Generator, language: str, wanted: dict[str, str]) -> SpeakerSpec:
        """A speaker of `language` with every wanted speaker attribute (others are ignored)."""
        constraints = {k: v for k, v in wanted.items() if k in SPEAKER_ATTRIBUTES}
        matching = [
            s
            for s in self.by_language[language]
            if all(getattr(s, k) == v for k, v in constraints.items())
        ]
        if not matching:
            raise ValueError(
                f"no {language} speaker with {constraints} in a pool of "
                f"{len(self.by_language[language])}; raise plan.speaker_pool"
            )
        return matching[int(rng.integers(len(matching)))]
