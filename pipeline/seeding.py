"""Seeds derived from names, so no output depends on batching, workers or order."""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from any parts (job seed, dialogue id, stage name, ...)."""
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def dialogue_seed(job_seed: int, dialogue_id: str) -> int:
    return derive_seed(job_seed, dialogue_id)


def stage_rng(dialogue_seed: int, stage: str, *extra: object) -> np.random.Generator:
    return np.random.default_rng(derive_seed(dialogue_seed, stage, *extra))
