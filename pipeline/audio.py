"""Small signal helpers shared by the stages (levels in dBFS, gains in dB)."""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def db_to_amplitude(db: float) -> float:
    return float(10 ** (db / 20))


def rms_dbfs(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + EPS))


def peak_dbfs(x: np.ndarray) -> float:
    return float(20 * np.log10(np.max(np.abs(x)) + EPS))
