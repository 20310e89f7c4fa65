"""flite (Debian binary): four real English voices, small and fast.

Speed -> `duration_stretch` (1 / speed). Pitch -> `f0_shift` (a frequency ratio) for the
voices that honour it; the clunit voice rms ignores it, so its shift is left to Praat (base
class), as are the F0 range and timbre.
flite cannot write WAV to stdout, so it writes into a temporary folder.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .base import Audio, Capabilities, CommandLineBackend, TurnStyle, VoiceSpec

VOICES = [
    VoiceSpec(backend="flite", name="kal16", gender="male", accent="us"),
    VoiceSpec(backend="flite", name="slt", gender="female", accent="us"),
    VoiceSpec(backend="flite", name="awb", gender="male", accent="scotland"),
    VoiceSpec(backend="flite", name="rms", gender="male", accent="us"),
]
NO_F0_SHIFT = frozenset({"rms"})  # measured: f0_shift leaves these voices' F0 unchanged


class FliteBackend(CommandLineBackend):
    name = "flite"
    capabilities = Capabilities(languages=frozenset({"en"}), natural=False)
    voice_list = tuple(VOICES)

    def __init__(self, binary: str = "flite") -> None:
        super().__init__(binary)

    def _load(self) -> None:
        super()._load()
        listed = subprocess.run([self.binary, "-lv"], capture_output=True, text=True).stdout
        missing = [v.name for v in VOICES if v.name not in listed.split()]
        if missing:
            raise RuntimeError(f"flite: voices {missing} are not built in; flite lists: {listed}")

    def engine_pitch_semitones(self, voice: VoiceSpec, semitones: float) -> float:
        return 0.0 if voice.name in NO_F0_SHIFT else semitones

    def _render(self, text: str, voice: VoiceSpec, style: TurnStyle) -> Audio:
        import soundfile as sf

        st = style.pitch_shift_semitones
        args = ["--setf", f"duration_stretch={1.0 / style.speed:.4f}"]
        if st:
            args += ["--setf", f"f0_shift={2 ** (st / 12):.4f}"]
        with tempfile.TemporaryDirectory(prefix="flite-") as tmp:
            out = Path(tmp) / "turn.wav"
            cmd = [self.binary, "-voice", voice.name, *args, "-t", text, "-o", str(out)]
            proc = subprocess.run(cmd, capture_output=True, check=False)
            if proc.returncode != 0 or not out.is_file():
                err = proc.stderr.decode(errors="replace").strip()
                raise RuntimeError(f"flite failed for voice {voice.name!r}: {err}")
            samples, sr = sf.read(out, dtype="float32")
        return Audio(np.asarray(samples, dtype=np.float32).reshape(-1), int(sr))
