"""Measured prosody -> binned words -> a natural-language style description (dataspeech style).

Four dimensions, each cut into ordered bins by fixed edges:

| dimension | measure | bins |
|---|---|---|
| pitch | F0 median, semitones re 100 Hz, per gender | 7: very low-pitch ... very high-pitch |
| monotony | F0 spread (std), semitones | 5: very monotone ... very expressive |
| rate | syllables per second of speech | 7: very slowly ... very quickly |
| loudness | active-speech level minus `REFERENCE_LEVEL_DB`, dB | 5: very quietly ... very loudly |

The edges are the equal-count quantiles (k/7 or k/5) of the measurements of the style
sampler's training renders (`scripts/build_style_mdn.py`, 1,000 renders of hibari:heart and
piper:en_US-joe-medium with uniform random styles); the build script prints the quantiles it
finds and stores them in `data/style_mdn_metrics.json`, so a rebuild can update them here.
A bin holds values v with edges[i-1] <= v < edges[i].
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Collection

from .base import REFERENCE_LEVEL_DB

DIMENSIONS = ("pitch", "monotony", "rate", "loudness")

LABELS: dict[str, tuple[str, ...]] = {
    "pitch": (
        "very low-pitch",
        "low-pitch",
        "slightly low-pitch",
        "moderate pitch",
        "slightly high-pitch",
        "high-pitch",
        "very high-pitch",
    ),
    "monotony": (
        "very monotone",
        "monotone",
        "slightly expressive",
        "expressive",
        "very expressive",
    ),
    "rate": (
        "very slowly",
        "slowly",
        "slightly slowly",
        "moderate speed",
        "slightly quickly",
        "quickly",
        "very quickly",
    ),
    "loudness": ("very quietly", "quietly", "moderate volume", "loudly", "very loudly"),
}

# Edges from the training renders of the packaged checkpoint (see the module docstring).
PITCH_EDGES_ST: dict[str, tuple[float, ...]] = {  # F0 median, semitones re 100 Hz
    "female": (8.29, 9.89, 11.73, 13.07, 14.54, 15.91),  # hibari:heart, median 12.1 st
    "male": (-5.27, -3.86, -2.56, -1.28, -0.02, 1.47),  # piper:en_US-joe-medium, -2.6 st
}
MONOTONY_EDGES_ST: tuple[float, ...] = (1.96, 2.71, 3.32, 4.21)  # F0 std, semitones
RATE_EDGES_SYL_S: tuple[float, ...] = (4.22, 4.85, 5.3, 5.61, 6.07, 7.14)  # syllables / s
LOUDNESS_EDGES_DB: tuple[float, ...] = (-10.2, -5.55, 0.05, 5.03)  # re REFERENCE_LEVEL_DB

# Words for each bin: adjectives describe the voice, adverbs the way of speaking.
_ADJECTIVES: dict[str, tuple[tuple[str, ...], ...]] = {
    "pitch": (
        ("very low-pitched", "very deep"),
        ("low-pitched", "deep"),
        ("slightly low-pitched", "somewhat deep"),
        ("moderately pitched", "medium-pitched"),
        ("slightly high-pitched", "somewhat high"),
        ("high-pitched", "high"),
        ("very high-pitched", "very high"),
    ),
    "monotony": (
        ("very monotone", "very flat"),
        ("monotone", "flat"),
        ("slightly expressive", "slightly animated"),
        ("expressive", "animated"),
        ("very expressive", "very animated"),
    ),
    "rate": (
        ("very slow",),
        ("slow",),
        ("slightly slow",),
        ("moderately paced", "normally paced"),
        ("slightly fast",),
        ("fast", "quick"),
        ("very fast", "very quick"),
    ),
    "loudness": (
        ("very quiet", "very soft"),
        ("quiet", "soft"),
        ("moderately loud", "normal-volume"),
        ("loud",),
        ("very loud",),
    ),
}
_ADVERBS: dict[str, tuple[tuple[str, ...], ...]] = {
    "monotony": (
        ("very monotonously", "in a very flat tone"),
        ("monotonously", "in a flat tone"),
        ("slightly expressively", "with a little expression"),
        ("expressively", "with an animated tone"),
        ("very expressively", "in a very animated way"),
    ),
    "rate": (
        ("very slowly",),
        ("slowly",),
        ("slightly slowly", "a little slowly"),
        ("at a moderate speed", "at a normal pace"),
        ("slightly quickly", "a little fast"),
        ("quickly", "fast"),
        ("very quickly", "very fast"),
    ),
    "loudness": (
        ("very quietly", "very softly"),
        ("quietly", "softly"),
        ("at a moderate volume", "at a normal volume"),
        ("loudly",),
        ("very loudly",),
    ),
}
_SUBJECTS = {
    "female": ("A woman", "A female speaker", "A lady", "She"),
    "male": ("A man", "A male speaker", "A gentleman", "He"),
}
_VERBS = ("speaks", "talks", "says this")


def _bin(value: float, edges: tuple[float, ...]) -> int:
    return bisect.bisect_right(edges, value)


def bin_indices(features, gender: str) -> dict[str, int]:
    """Bin index per dimension of `features` (a `qa.prosody_features.ProsodyFeatures`)."""
    if gender not in PITCH_EDGES_ST:
        raise ValueError(f"gender {gender!r} has no pitch bins; allowed: {sorted(PITCH_EDGES_ST)}")
    return {
        "pitch": _bin(features.f0_median_st, PITCH_EDGES_ST[gender]),
        "monotony": _bin(features.f0_spread_st, MONOTONY_EDGES_ST),
        "rate": _bin(features.rate_syllables_per_s, RATE_EDGES_SYL_S),
        "loudness": _bin(features.level_db - REFERENCE_LEVEL_DB, LOUDNESS_EDGES_DB),
    }


def bins_of(features, gender: str) -> dict[str, str]:
    """The bin label per dimension, e.g. {"rate": "very quickly", "pitch": "high-pitch", ...}."""
    return {dim: LABELS[dim][i] for dim, i in bin_indices(features, gender).items()}


def parse_bins(description: str) -> dict[str, str]:
    """The bin labels a description names (longest matching phrase per dimension)."""
    text = description.lower()
    found = {}
    for dim in DIMENSIONS:
        best = (0, -1)
        for table in (_ADJECTIVES, _ADVERBS):
            for index, words in enumerate(table.get(dim, ())):
                for phrase in words:
                    if phrase in text and len(phrase) > best[0]:
                        best = (len(phrase), index)
        if best[1] >= 0:
            found[dim] = LABELS[dim][best[1]]
    return found


def describe(
    features,
    gender: str,
    rng: random.Random,
    mention: Collection[str] = DIMENSIONS,
) -> str:
    """A sentence naming the bins of the `mention`ed dimensions, template and words drawn by rng.

    e.g. "A woman speaks quite quickly and very expressively, with a high-pitched, loud voice."
    """
    return describe_bins(bin_indices(features, gender), gender, rng, mention)


def describe_bins(
    bins: dict[str, int], gender: str, rng: random.Random, mention: Collection[str] = DIMENSIONS
) -> str:
    """`describe` from bin indices (as `bin_indices` gives them)."""
    unknown = set(mention) - set(DIMENSIONS)
    if unknown or not mention:
        raise ValueError(f"mention {sorted(mention)} must be a non-empty subset of {DIMENSIONS}")
    dims = [d for d in DIMENSIONS if d in mention]
    rng.shuffle(dims)
    adjectives, adverbs = [], []
    for dim in dims:
        as_adverb = dim != "pitch" and rng.random() < 0.6
        words = (_ADVERBS if as_adverb else _ADJECTIVES)[dim][bins[dim]]
        (adverbs if as_adverb else adjectives).append(rng.choice(words))
    subject = rng.choice(_SUBJECTS[gender])
    verb = rng.choice(_VERBS)
    pronoun = "she" if gender == "female" else "he"
    adj, adv = ", ".join(adjectives), _and(adverbs)
    if adjectives and adverbs:
        templates = (
            f"{subject} {verb} {adv}, with a {adj} voice.",
            f"With a {adj} voice, {_lower(subject)} {verb} {adv}.",
            f"{subject}, with a {adj} voice, {verb} {adv}.",
            f"The voice is {_and(adjectives)}, and {pronoun} {verb} {adv}.",
        )
    elif adverbs:
        templates = (f"{subject} {verb} {adv}.", f"Here {_lower(subject)} {verb} {adv}.")
    else:
        templates = (
            f"{subject} {verb} with a {adj} voice.",
            f"{subject} has a {adj} voice.",
            f"A {adj} {'female' if gender == 'female' else 'male'} voice.",
        )
    return rng.choice(templates)


def _and(words: list[str]) -> str:
    if len(words) < 2:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _lower(subject: str) -> str:
    return subject[0].lower() + subject[1:]
