"""Channel fidelity: labelled, seeded degradations of a turn's audio (the `fidelity` label).

A `ChannelSpec` is a chain of degradations stored by name, e.g.
"telephone_band(low_hz=300,high_hz=3400)+codec(name=gsm)+packet_loss(fraction=0.08)", and
`parse_channel` reads that name back, so a manifest row rebuilds the same audio.

- telephone_band: zero-phase Butterworth band-pass (order 6 applied forward and backward:
  36 dB per octave on each side), 300-3400 Hz as ITU-T G.712 describes a telephone channel;
- low_rate: down to `rate_hz` and back (polyphase resampling, band-limited to rate_hz / 2);
- codec: a real encoder and decoder round trip through libsndfile (shipped with the
  soundfile wheel): "gsm" (GSM 06.10 full rate, 13 kbit/s at 8 kHz), "mulaw" (G.711, 8 kHz),
  "opus" and "mp3" (at 16 kHz; `quality` is libsndfile's compression level, 0..1, 1 the
  lowest bit rate: measured on speech, opus 0.95 ~18 kbit/s, 0.99 ~10, 1.0 ~8; mp3 0.95
  ~25 kbit/s, 0.99 ~22, its highest allowed level); all are deterministic and add no delay
  (checked by the tests);
- clipping: hard clip at `threshold_db` below the signal's peak;
- packet_loss: a seeded `fraction` of `frame_ms` frames set to zero, the audio around each
  gap faded out and in over `fade_ms` (inside the kept frames, so dropped frames are exactly
  zero), as a jitter buffer without concealment does.

The filters, the rate change, the codecs and the clipping keep the RMS of their input (the
volume label and the SNRs are set elsewhere); packet loss only removes audio.
audiomentations has band-pass, clipping and MP3 transforms, but draws their parameters from
the process-wide `random` module and its MP3 transform needs an extra encoder package; with
the parameters pinned they are thin wrappers over the same scipy filters, so scipy and
libsndfile are used directly, with an explicit seed.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
from scipy import signal

from dialogsmith.stages.scene_events import fade, resample_to

CODEC_FORMATS = {  # name -> (container, subtype, coding rate)
    "gsm": ("WAV", "GSM610", 8000),
    "mulaw": ("WAV", "ULAW", 8000),
    "opus": ("OGG", "OPUS", 16000),
    "mp3": ("MP3", "MPEG_LAYER_III", 16000),
}
BANDWIDTH_ENERGY_FRACTION = 0.99


@dataclass(frozen=True)
class TelephoneBand:
    kind: ClassVar[str] = "telephone_band"
    low_hz: float = 300.0
    high_hz: float = 3400.0

    def apply(self, x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
        high = min(self.high_hz, 0.45 * rate)
        sos = signal.butter(6, [self.low_hz, high], btype="bandpass", fs=rate, output="sos")
        return _keep_level(x, signal.sosfiltfilt(sos, x))


@dataclass(frozen=True)
class LowRate:
    kind: ClassVar[str] = "low_rate"
    rate_hz: int = 8000

    def apply(self, x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
        if self.rate_hz >= rate:
            return x
        y = resample_to(resample_to(x, rate, self.rate_hz), self.rate_hz, rate)
        return _keep_level(x, _fit(y, len(x)))


@dataclass(frozen=True)
class Codec:
    kind: ClassVar[str] = "codec"
    name: str = "gsm"
    quality: float | None = None  # opus and mp3 only: compression level, default 0.98

    def apply(self, x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
        import soundfile as sf

        if self.name not in CODEC_FORMATS:
            raise ValueError(f"unknown codec {self.name!r}; allowed: {sorted(CODEC_FORMATS)}")
        container, subtype, coding_rate = CODEC_FORMATS[self.name]
        coded = resample_to(x, rate, coding_rate)
        scale = 0.9 / (np.abs(coded).max() + 1e-12)  # the codecs take [-1, 1]
        options = {}
        if self.name in ("opus", "mp3"):
            level = 0.98 if self.quality is None else self.quality
            options["compression_level"] = min(level, 0.99) if self.name == "mp3" else level
        buffer = io.BytesIO()
        sf.write(buffer, coded * scale, coding_rate, format=container, subtype=subtype, **options)
        buffer.seek(0)
        decoded, _ = sf.read(buffer, dtype="float64")
        y = resample_to(_fit(decoded / scale, len(coded)), coding_rate, rate)
        return _keep_level(x, _fit(y, len(x)))


@dataclass(frozen=True)
class Clipping:
    kind: ClassVar[str] = "clipping"
    threshold_db: float = -12.0  # below the signal's peak

    def apply(self, x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
        limit = np.abs(x).max() * 10 ** (self.threshold_db / 20)
        return _keep_level(x, np.clip(x, -limit, limit))


@dataclass(frozen=True)
class PacketLoss:
    kind: ClassVar[str] = "packet_loss"
    fraction: float = 0.1
    frame_ms: float = 20.0
    fade_ms: float = 2.5

    def apply(self, x: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
        frame = round(self.frame_ms * rate / 1000)
        n_frames = len(x) // frame
        dropped = np.zeros(n_frames, dtype=bool)
        dropped[rng.choice(n_frames, round(self.fraction * n_frames), replace=False)] = True
        y = np.array(x, dtype=np.float64)
        ramp = round(self.fade_ms * rate / 1000)
        for start, stop in _runs(dropped):
            a, b = start * frame, stop * frame
            before, after = y[max(0, a - ramp) : a], y[b : b + ramp]
            y[max(0, a - ramp) : a] = fade(before, rate, 0.0, len(before) / rate)
            y[b : b + ramp] = fade(after, rate, len(after) / rate, 0.0)
            y[a:b] = 0.0
        return y


Degradation = TelephoneBand | LowRate | Codec | Clipping | PacketLoss
KINDS: dict[str, type] = {c.kind: c for c in (TelephoneBand, LowRate, Codec, Clipping, PacketLoss)}


@dataclass(frozen=True)
class ChannelSpec:
    degradations: tuple[Degradation, ...] = ()

    @property
    def labels(self) -> list[str]:
        return [d.kind for d in self.degradations]

    @property
    def name(self) -> str:
        """Stable text form, read back by `parse_channel` ("clean" for no degradation)."""
        parts = []
        for d in self.degradations:
            values = [(f.name, getattr(d, f.name)) for f in fields(d)]
            args = ",".join(f"{key}={_text(value)}" for key, value in values if value is not None)
            parts.append(f"{d.kind}({args})")
        return "+".join(parts) or "clean"


def parse_channel(name: str) -> ChannelSpec:
    """The `ChannelSpec` whose `name` this is."""
    if name == "clean":
        return ChannelSpec()
    chain = []
    for part in name.split("+"):
        match = re.fullmatch(r"(\w+)\((.*)\)", part.strip())
        if match is None or match[1] not in KINDS:
            raise ValueError(f"bad channel part {part!r} in {name!r}; kinds: {sorted(KINDS)}")
        cls = KINDS[match[1]]
        types = {f.name: f.type for f in fields(cls)}
        args = dict(kv.split("=", 1) for kv in match[2].split(",") if kv)
        chain.append(cls(**{k: _value(v, types[k]) for k, v in args.items()}))
    return ChannelSpec(tuple(chain))


def apply_channel(samples: np.ndarray, rate: int, spec: ChannelSpec, seed: int) -> np.ndarray:
    """`samples` through every degradation of `spec` in order; float32, same length."""
    x = np.asarray(samples, dtype=np.float64)
    if not np.any(x):
        return x.astype(np.float32)
    for index, degradation in enumerate(spec.degradations):
        x = degradation.apply(x, rate, np.random.default_rng([seed, index]))
    return x.astype(np.float32)


def low_fidelity_profile(seed: int) -> ChannelSpec:
    """The chain for `fidelity=low` ("a poor, crackly line, as if on a bad phone
    connection"), in the order a call meets them: sometimes clipping at the talker's device,
    always a narrow band (telephone band, or a 6-8 kHz rate) and a low-rate codec, often
    packet loss. Clipping comes first so that its harmonics are band-limited like the rest:
    the band limit is what `effective_bandwidth_hz` verifies."""
    rng = np.random.default_rng([seed, 17])
    chain: list[Degradation] = []
    if rng.random() < 0.3:
        chain.append(Clipping(round(float(rng.uniform(-14, -6)), 1)))
    if rng.random() < 0.6:
        low, high = rng.uniform(250, 400), rng.uniform(3000, 3500)
        chain.append(TelephoneBand(round(float(low)), round(float(high))))
    else:
        chain.append(LowRate(int(rng.choice([6000, 8000]))))
    codec = str(rng.choice(["gsm", "mulaw", "opus", "mp3"]))
    quality = {"opus": (0.97, 1.0), "mp3": (0.95, 0.99)}.get(codec)
    chain.append(Codec(codec, round(float(rng.uniform(*quality)), 3) if quality else None))
    if rng.random() < 0.7:
        chain.append(PacketLoss(round(float(rng.uniform(0.03, 0.15)), 3)))
    return ChannelSpec(tuple(chain))


def effective_bandwidth_hz(
    samples: np.ndarray, rate: int, energy_fraction: float = BANDWIDTH_ENERGY_FRACTION
) -> float:
    """The frequency below which `energy_fraction` (99 %) of the signal's energy lies,
    from a Welch power spectrum (1024-sample Hann frames at 16 kHz, scaled with the rate)."""
    x = np.asarray(samples, dtype=np.float64)
    nperseg = min(len(x), 1 << round(np.log2(rate / 16)))
    freqs, power = signal.welch(x, rate, nperseg=nperseg)
    cumulative = np.cumsum(power)
    if cumulative[-1] <= 0:
        return 0.0
    return float(freqs[np.searchsorted(cumulative, energy_fraction * cumulative[-1])])


def _keep_level(reference: np.ndarray, y: np.ndarray) -> np.ndarray:
    ref, out = np.sqrt(np.mean(reference**2)), np.sqrt(np.mean(y**2))
    return y * (ref / out) if out > 0 else y


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    return y[:n] if len(y) >= n else np.concatenate([y, np.zeros(n - len(y))])


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _text(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _value(text: str, kind: object) -> object:
    kind = str(kind)
    if kind.startswith("int"):
        return int(float(text))
    if kind.startswith("float"):
        return float(text)
    return text
