"""Non-verbal vocal sounds around a turn: laughter, sigh, cough, deterministic from a seed.

Laughter is built from the speaker's own voice: the backend renders a seeded "ha ha ha"-style
text, Praat finds its voiced vowels, and those are re-assembled as 3-6 syllables with a breathy
noise onset each, decaying amplitude and a rising-then-falling F0 per syllable (Praat
PitchTier + overlap-add). A sigh is noise through open-vowel resonances ("haah", formants
scaled by gender) with a slow attack and long decay, mixed with a very quiet "hmm" from the
voice. A cough is 1-2 bursts: a closure, a glottal click, then broadband noise with a low
resonance and a fast decay. Each sound is levelled like speech (`level_and_gain`) plus a
per-kind offset and never peaks above -1 dBFS.

`nonverbal_features` measures what makes each kind detectable; `classify_nonverbal` is a
rule-based check on those features, used by tests and verification.
"""

from __future__ import annotations

import zlib
from itertools import pairwise

import numpy as np

from .base import (
    PITCH_CEILING_HZ,
    Audio,
    Seconds,
    TTSBackend,
    TurnStyle,
    VoiceSpec,
    level_and_gain,
    resample,
)

NONVERBAL_KINDS = ("laughter", "sigh", "cough")
DURATION_RANGE_S: dict[str, tuple[Seconds, Seconds]] = {
    "laughter": (0.6, 1.5),
    "sigh": (0.8, 1.6),
    "cough": (0.3, 0.9),
}
LEVEL_OFFSET_DB = {"laughter": 0.0, "sigh": -3.0, "cough": -1.0}  # relative to speech level
PEAK_LIMIT = 10 ** (-1 / 20)  # -1 dBFS
LAUGH_TEXTS = ("ha ha ha", "ha ha ha ha", "hahaha", "ha! ha! ha!", "he he he", "heh heh heh")
# Open vowel /a/ (Peterson & Barney): F1, F2, F3 in Hz and bandwidths for a breathy voice.
OPEN_VOWEL_HZ = {"male": (730.0, 1090.0, 2440.0), "female": (850.0, 1220.0, 2810.0)}
BREATHY_BW_HZ = (200.0, 250.0, 350.0)
FORMANT_GAIN_DB = (0.0, -5.0, -14.0)
COUGH_LOW_HZ = {"male": 380.0, "female": 480.0}
FEATURE_HOP_S = 0.01
FEATURE_NAMES = (
    "duration_s",
    "active_s",
    "voiced_fraction",
    "n_bursts",
    "spectral_flatness",
    "attack_s",
    "decay_s",
)
PITCH_FLOOR = 60.0


def synthesize_nonverbal(
    kind: str, backend: TTSBackend, voice: VoiceSpec, sample_rate: int, seed: int
) -> Audio:
    """One `kind` sound by `voice`, at `sample_rate`; the same seed gives the same samples."""
    if kind not in NONVERBAL_KINDS:
        raise ValueError(f"unknown non-verbal kind {kind!r}; allowed: {', '.join(NONVERBAL_KINDS)}")
    if int(sample_rate) != sample_rate or sample_rate < 8000:
        raise ValueError(f"sample_rate={sample_rate} must be an integer >= 8000 Hz")
    backend.check_voice(voice)
    rng = np.random.default_rng([seed, NONVERBAL_KINDS.index(kind)])
    make = {"laughter": _laughter, "sigh": _sigh, "cough": _cough}[kind]
    x = make(backend, voice, sample_rate, rng, seed)
    x = _fit(x, sample_rate, *DURATION_RANGE_S[kind])
    x = level_and_gain(x, sample_rate, LEVEL_OFFSET_DB[kind])
    peak = float(np.abs(x).max(initial=0.0))
    if peak > PEAK_LIMIT:
        x = x * np.float32(PEAK_LIMIT / peak)
    return Audio(x.astype(np.float32), sample_rate)


def attach_nonverbal(
    speech: Audio, sound: Audio, position: str = "before", gap_s: Seconds = 0.15
) -> tuple[Audio, Seconds, Seconds]:
    """`sound` before or after `speech` with a silent gap; returns (audio, start_s, end_s)."""
    if position not in ("before", "after"):
        raise ValueError(f"position {position!r} is not allowed; allowed: before, after")
    if speech.sample_rate != sound.sample_rate:
        raise ValueError(
            f"cannot attach a {sound.sample_rate} Hz sound to {speech.sample_rate} Hz speech; "
            "resample the sound first (`sound.resampled(speech.sample_rate)`)"
        )
    if not gap_s >= 0:
        raise ValueError(f"gap_s={gap_s} must be >= 0")
    sr = speech.sample_rate
    gap = np.zeros(round(gap_s * sr), np.float32)
    if position == "before":
        parts, start = [sound.samples, gap, speech.samples], 0
    else:
        parts, start = [speech.samples, gap, sound.samples], len(speech.samples) + len(gap)
    end = start + len(sound.samples)
    return Audio(np.concatenate(parts), sr), start / sr, end / sr


# --- laughter --------------------------------------------------------------------------------


def _laughter(backend, voice, sr, rng, seed):
    text = LAUGH_TEXTS[rng.integers(len(LAUGH_TEXTS))]
    speech = _render(backend, voice, text, float(rng.uniform(1.0, 1.4)), sr)
    vowels, f0 = _vowels(speech, sr)
    base = f0 * 2 ** (rng.uniform(1.0, 4.0) / 12)  # laughter sits above the speaking pitch
    drift, decay_db, target = rng.uniform(1.0, 3.0), rng.uniform(6.0, 10.0), rng.uniform(0.75, 1.15)
    formants = _formants(voice, rng)
    _seed_praat(zlib.crc32(speech.tobytes()) ^ seed)
    pieces, t, n_syllables = [], 0, 0
    while n_syllables < 3 or (t < target * sr and n_syllables < 6):
        i, n_syllables = n_syllables, n_syllables + 1
        a, b = vowels[i % len(vowels)]
        f = base * 2 ** (-drift * min(i, 5) / 5 / 12)
        contour = ((0.0, f), (rng.uniform(0.3, 0.45), f * 2 ** (rng.uniform(1.5, 3.0) / 12)))
        contour += ((1.0, f * 2 ** (-rng.uniform(1.5, 3.0) / 12)),)
        v = _with_contour(speech, sr, a, min(b - a, int(rng.uniform(0.1, 0.16) * sr)), contour)
        v = _fade(v, sr, 0.008, 0.03) / (_rms(v) + 1e-12) * 10 ** (-decay_db * min(i, 5) / 5 / 20)
        n_h, n_mix = int(rng.uniform(0.03, 0.06) * sr), int(0.02 * sr)  # "h", then into the vowel
        h = _breath(n_h + n_mix, sr, formants, rng) * _rms(v) * 10 ** (rng.uniform(-12, -6) / 20)
        h *= np.r_[np.linspace(0, 1, n_h) ** 2, np.cos(0.5 * np.pi * np.arange(n_mix) / n_mix)]
        syllable = np.r_[np.zeros(n_h), v]
        syllable[: len(h)] += h[: len(syllable)]
        gap = _breath(int(rng.uniform(0.04, 0.09) * sr), sr, formants, rng) * _rms(v) * 0.006
        pieces += [syllable, gap]  # the gap's breath stays below the level meter's range
        t += len(syllable) + len(gap)
    return np.concatenate(pieces[:-1])  # end on the last vowel's fade


def _vowels(x, sr):
    """Loud voiced syllables of a rendered laugh (each >= 80 ms) and the render's median F0."""
    import parselmouth

    pitch = parselmouth.Sound(x, sampling_frequency=sr).to_pitch(
        time_step=0.01, pitch_floor=PITCH_FLOOR, pitch_ceiling=PITCH_CEILING_HZ
    )
    hz = pitch.selected_array["frequency"]
    edges = np.flatnonzero(np.diff(np.r_[0, hz > 0, 0].astype(int)))
    times, spans = pitch.xs(), []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        start, end = int((times[a] - 0.005) * sr), int((times[b - 1] + 0.005) * sr)
        spans.append((max(0, start), min(len(x), end)))
    spans = [piece for span in spans for piece in _split_at_dips(x, sr, *span)]
    loudest = max((_rms(x[a:b]) for a, b in spans), default=0.0)
    spans = [(a, b) for a, b in spans if b - a >= 0.08 * sr and _rms(x[a:b]) >= 0.4 * loudest]
    if not spans:  # nothing reliably voiced: take the render in 150 ms pieces
        n = int(0.15 * sr)
        spans = [(a, min(a + n, len(x))) for a in range(0, max(1, len(x) - n // 2), n)]
    return spans, float(np.median(hz[hz > 0])) if (hz > 0).any() else 0.0


def _split_at_dips(x, sr, a, b):
    """Split x[a:b] where its 10 ms energy dips >= 6 dB between two humps ("hahaha"); each
    piece starts where it comes within 12 dB of its own peak (the vowel, not the "h")."""
    from scipy.signal import find_peaks

    hop = int(0.01 * sr)
    n = (b - a) // hop
    if n < 5:
        return [(a, b)]
    power = (x[a : a + n * hop].reshape(n, hop) ** 2).mean(axis=1)
    db = 10 * np.log10(np.convolve(power, np.ones(3) / 3, mode="same") + 1e-12)
    dips, _ = find_peaks(-db, prominence=6)
    cuts = [0, *(int(d) for d in dips), n]
    pieces = []
    for lo, hi in pairwise(cuts):
        start = lo + int(np.argmax(db[lo:hi] >= db[lo:hi].max() - 12))
        pieces.append((a + start * hop, a + hi * hop if hi < n else b))
    return pieces


def _with_contour(x, sr, start, n, contour):
    """x[start:start+n] with its F0 following `contour` ((fraction, hz), ...) via Praat PSOLA.

    The analysis sees 50 ms of context on either side, so pulses at the edges are kept.
    """
    import parselmouth
    from parselmouth.praat import call

    ctx = int(0.05 * sr)
    lo, hi = max(0, start - ctx), min(len(x), start + n + ctx)
    if not all(hz > 0 for _, hz in contour):
        return x[start : start + n].copy()
    sound = parselmouth.Sound(x[lo:hi], sampling_frequency=sr)
    manipulation = call(sound, "To Manipulation", 0.01, PITCH_FLOOR, PITCH_CEILING_HZ)
    tier = call("Create PitchTier", "laugh", 0.0, sound.duration)
    for pos, hz in contour:
        time = (start - lo + pos * n) / sr
        call(tier, "Add point", time, min(hz, 0.9 * PITCH_CEILING_HZ))
    call([tier, manipulation], "Replace pitch tier")
    out = call(manipulation, "Get resynthesis (overlap-add)").values[0]
    out = np.pad(out, (0, max(0, hi - lo - len(out))))
    return out[start - lo : start - lo + n]


def _seed_praat(seed):
    """PSOLA draws from Praat's global random generator: seed it for reproducible output."""
    from parselmouth.praat import run

    run(f"random_initializeWithSeedUnsafelyButPredictably ({seed & 0x7FFFFFFF})")


# --- sigh and cough --------------------------------------------------------------------------


def _sigh(backend, voice, sr, rng, seed):
    n = int(rng.uniform(0.9, 1.45) * sr)
    formants = _formants(voice, rng)
    closing = tuple(f * k for f, k in zip(formants, (0.75, 1.1, 1.0), strict=True))
    w = np.linspace(0.0, 1.0, n)
    x = (1 - w) * _breath(n, sr, formants, rng) + w * _breath(n, sr, closing, rng)
    x += 0.08 * _highpass(rng.standard_normal(n), sr, 1500.0)  # turbulence
    attack = rng.uniform(0.15, 0.3)
    hold = rng.uniform(0.05, 0.2)
    t = np.arange(n) / sr
    env_db = np.where(t < attack + hold, 0.0, -32.0 * (t - attack - hold) / (t[-1] - attack - hold))
    env = 10 ** (env_db / 20) * np.sin(0.5 * np.pi * np.clip(t / attack, 0, 1)) ** 2
    x *= env
    hmm = _render(backend, voice, "hmm", 0.7, sr)[: n - int(attack * sr)]
    if hmm.size:  # a very quiet voiced murmur under the breath, same envelope
        rel = 10 ** (rng.uniform(-24.0, -18.0) / 20) * _rms(x) / (_rms(hmm) + 1e-12)
        x[int(attack * sr) : int(attack * sr) + len(hmm)] += rel * hmm * env[: len(hmm)]
    return x


def _cough(backend, voice, sr, rng, seed):
    low = COUGH_LOW_HZ.get(voice.gender, 430.0) * float(voice.param("formant_shift") or 1.0)
    low *= rng.uniform(0.9, 1.1)
    pieces = [np.zeros(int(0.02 * sr))]
    for i in range(int(rng.integers(1, 3))):
        if i:  # the glottis closes again before the second burst
            pieces.append(np.zeros(int(rng.uniform(0.06, 0.12) * sr)))
        n = int(rng.uniform(0.28, 0.36) * sr)
        t = np.arange(n) / sr
        tau = rng.uniform(0.05, 0.09)
        env = np.minimum(t / 0.004, 1.0) * np.exp(-t / tau)
        noise = rng.standard_normal(n)
        noise = noise + 1.5 * _resonate(noise, sr, [(low, 250.0, 1.0)])
        burst = noise / _rms(noise) * env
        tc = (t - 0.002) / 0.0003
        click = -tc * np.exp(-0.5 * tc**2)  # a Gaussian derivative: the glottal release
        thump = _resonate(click, sr, [(low, 150.0, 1.0)])
        burst += 2.5 * click / np.abs(click).max() + 1.5 * thump / (np.abs(thump).max() + 1e-12)
        pieces.append(_fade(burst, sr, 0.0, 0.01) * 10 ** (-rng.uniform(2, 6) * i / 20))
    pieces.append(np.zeros(int(0.03 * sr)))
    return np.concatenate(pieces)


# --- helpers ---------------------------------------------------------------------------------


def _render(backend, voice, text, speed, sr):
    audio = backend.synthesize(text, voice, TurnStyle(speed=speed))
    x = resample(audio, sr).samples.astype(np.float64)
    active = np.flatnonzero(np.abs(x) > np.abs(x).max(initial=0.0) * 0.01)
    return x[active[0] : active[-1] + 1] if active.size else x


def _formants(voice, rng):
    hz = OPEN_VOWEL_HZ.get(voice.gender)
    if hz is None:
        hz = tuple(np.mean(list(OPEN_VOWEL_HZ.values()), axis=0))
    shift = float(voice.param("formant_shift") or 1.0)  # a timbre voice's formant scaling
    return tuple(f * shift * rng.uniform(0.93, 1.07) for f in hz)


def _breath(n, sr, formants, rng):
    """White noise through breathy open-vowel resonances; unit RMS."""
    gains = [10 ** (g / 20) for g in FORMANT_GAIN_DB]
    x = _resonate(
        rng.standard_normal(n), sr, list(zip(formants, BREATHY_BW_HZ, gains, strict=True))
    )
    return x / (_rms(x) + 1e-12)


def _resonate(x, sr, bank):
    """Parallel two-pole resonators `(freq_hz, bandwidth_hz, gain)`, each unit gain at its peak."""
    from scipy.signal import lfilter

    out = np.zeros(len(x))
    for f, bw, gain in bank:
        f = min(f, 0.45 * sr)
        r = np.exp(-np.pi * bw / sr)
        a = [1.0, -2 * r * np.cos(2 * np.pi * f / sr), r * r]
        y = lfilter([1.0], a, x)
        out += gain * y * (1 - r) * np.sqrt(1 - 2 * r * np.cos(4 * np.pi * f / sr) + r * r)
    return out


def _highpass(x, sr, hz):
    from scipy.signal import butter, sosfilt

    return sosfilt(butter(2, min(hz, 0.45 * sr), "highpass", fs=sr, output="sos"), x)


def _fade(x, sr, fade_in_s, fade_out_s):
    x = np.array(x, dtype=np.float64)
    n, m = min(int(fade_in_s * sr), len(x)), min(int(fade_out_s * sr), len(x))
    x[:n] *= np.sin(0.5 * np.pi * np.arange(n) / max(n, 1))
    x[len(x) - m :] *= np.cos(0.5 * np.pi * np.arange(m) / max(m, 1))
    return x


def _fit(x, sr, lo, hi):
    """Trim silent edges, then cut (with a fade) or pad with silence into [lo, hi] seconds.

    The generators aim inside the range; this only guards against an unusual voice render.
    """
    x = np.nan_to_num(np.asarray(x, np.float64))
    loud = np.flatnonzero(np.abs(x) > np.abs(x).max(initial=0.0) * 10 ** (-60 / 20))
    if loud.size:
        x = x[max(0, loud[0] - int(0.01 * sr)) : loud[-1] + int(0.02 * sr)]
    if len(x) > hi * sr:
        x = _fade(x[: int(hi * sr) - 1], sr, 0.0, 0.05)
    if len(x) < lo * sr:
        x = np.pad(x, (0, int(np.ceil(lo * sr)) + 1 - len(x)))
    return x.astype(np.float32)


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


# --- features and classification -------------------------------------------------------------


def nonverbal_features(samples: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Duration, voicing, bursts, flatness and envelope shape of one sound.

    `active_s` spans frames within 35 dB of the loudest; `voiced_fraction` is the share of
    active 10 ms frames Praat calls voiced; `n_bursts` counts envelope peaks with at least
    8 dB prominence; `spectral_flatness` is the Welch-PSD flatness over 100 Hz-8 kHz;
    `attack_s` runs from onset to the loudest frame, `decay_s` from there until 15 dB below.
    """
    from scipy.signal import find_peaks, welch

    x = np.nan_to_num(np.asarray(samples, dtype=np.float64).reshape(-1))
    hop = max(1, int(FEATURE_HOP_S * sample_rate))
    n_frames = len(x) // hop
    out = {"duration_s": len(x) / sample_rate}
    if n_frames < 3 or not np.any(x):
        return out | dict.fromkeys(FEATURE_NAMES[1:], 0.0)
    power = (x[: n_frames * hop].reshape(n_frames, hop) ** 2).mean(axis=1)
    env = 10 * np.log10(np.convolve(power, np.ones(3) / 3, mode="same") + 1e-12)
    top = env.max()
    active = np.flatnonzero(env >= top - 35)
    first, last, peak = active[0], active[-1], int(np.argmax(env))
    below = np.flatnonzero(env[peak:] < top - 15)
    decay = below[0] if below.size else last - peak
    bursts, _ = find_peaks(np.r_[-200.0, env, -200.0], height=top - 25, prominence=8, distance=8)
    segment = x[first * hop : (last + 1) * hop]
    nper = int(2 ** np.floor(np.log2(0.016 * sample_rate)))  # 256 at 16-24 kHz
    freqs, psd = welch(segment, fs=sample_rate, nperseg=min(nper, len(segment)))
    band = psd[(freqs >= 100) & (freqs <= min(8000.0, 0.45 * sample_rate))] + 1e-20
    return out | {
        "active_s": float(last - first + 1) * hop / sample_rate,
        "voiced_fraction": _voiced_fraction(x, sample_rate, env >= top - 35, hop),
        "n_bursts": float(len(bursts)),
        "spectral_flatness": float(np.exp(np.mean(np.log(band))) / np.mean(band)),
        "attack_s": float(peak - first) * hop / sample_rate,
        "decay_s": float(decay) * hop / sample_rate,
    }


def _voiced_fraction(x, sr, active, hop):
    import parselmouth

    if len(x) < 0.1 * sr or not active.any():
        return 0.0
    # cross-correlation with a 75 Hz floor: short (~100 ms) laugh syllables stay voiced
    pitch = parselmouth.Sound(x, sampling_frequency=sr).to_pitch_cc(
        time_step=hop / sr, pitch_floor=75.0, pitch_ceiling=PITCH_CEILING_HZ
    )
    idx = np.clip((pitch.xs() * sr / hop).astype(int), 0, len(active) - 1)
    voiced = pitch.selected_array["frequency"] > 0
    return float(np.sum(voiced & active[idx]) / max(1, np.sum(active[idx])))


def classify_nonverbal(samples: np.ndarray, sample_rate: int) -> str:
    """Rule-based: voiced bursts (or a train of >= 3 tonal bursts) are laughter; of the rest,
    what has at least two of long decay, slow attack and a coloured spectrum is a sigh, and a
    fast, flat-spectrum burst is a cough."""
    f = nonverbal_features(samples, sample_rate)
    voiced_bursts = f["voiced_fraction"] >= 0.3 and f["n_bursts"] >= 2
    if voiced_bursts or (f["n_bursts"] >= 3 and f["spectral_flatness"] < 0.15):
        return "laughter"
    slow = [f["decay_s"] >= 0.25, f["attack_s"] >= 0.1, f["spectral_flatness"] < 0.3]
    return "sigh" if sum(slow) >= 2 else "cough"
