"""espeak-ng (Debian binary): robotic but fast, with many English accents and voice variants,
and Mandarin.

Mandarin is the `cmn-latn-pinyin` voice: it reads Chinese characters with their tones and
digits as Mandarin numbers. The plain `cmn` voice of espeak-ng 1.51 (Debian 12) reads the
tone digits of its own pinyin as English numbers ("ni three hao three"), so it is not offered.

Speed -> words per minute (175 * speed). Pitch -> the `-p` setting (50 is the voice's own;
about 5.5 steps per semitone, measured); male variants stop going down below about -2.5
semitones, so the part of a shift outside [-2.5, +8] semitones is left to Praat (base class),
as are the F0 range and timbre.
Text goes in on stdin (never parsed as options); WAV comes back on stdout.
"""

from __future__ import annotations

import io
import subprocess

import numpy as np

from .base import Audio, Capabilities, CommandLineBackend, TurnStyle, VoiceSpec

ACCENTS = {  # espeak-ng language id -> accent label
    "en-us": "us",
    "en-gb": "gb",
    "en-gb-x-rp": "gb-rp",
    "en-gb-scotland": "scotland",
    "en-us-nyc": "us-nyc",
    "en-029": "caribbean",
    "cmn-latn-pinyin": "cmn",
}
LANGUAGES = {"cmn-latn-pinyin": "zh"}  # the others are English
VARIANTS = {**{f"m{i}": "male" for i in range(1, 8)}, **{f"f{i}": "female" for i in range(1, 6)}}
BASE_WPM = 175
PITCH_STEPS_PER_SEMITONE = 5.5
ENGINE_PITCH_RANGE = (-2.5, 8.0)  # semitones the -p setting realises for every variant


def _voice(lang: str, variant: str) -> VoiceSpec:
    return VoiceSpec(
        backend="espeak-ng",
        name=f"{lang}+{variant}",
        gender=VARIANTS[variant],
        accent=ACCENTS[lang],
        language=LANGUAGES.get(lang, "en"),
        params=(("language", lang), ("variant", variant)),
    )


VOICES = [_voice(lang, var) for lang in ACCENTS for var in VARIANTS]


class EspeakBackend(CommandLineBackend):
    name = "espeak-ng"
    capabilities = Capabilities(languages=frozenset({"en", "zh"}), natural=False)
    voice_list = tuple(VOICES)

    def __init__(self, binary: str = "espeak-ng") -> None:
        super().__init__(binary)

    def engine_pitch_semitones(self, voice: VoiceSpec, semitones: float) -> float:
        return min(max(semitones, ENGINE_PITCH_RANGE[0]), ENGINE_PITCH_RANGE[1])

    def _render(self, text: str, voice: VoiceSpec, style: TurnStyle) -> Audio:
        import soundfile as sf

        pitch = round(50 + PITCH_STEPS_PER_SEMITONE * style.pitch_shift_semitones)
        wpm = round(BASE_WPM * style.speed)
        cmd = [self.binary, "-v", voice.name, "-s", str(wpm), "-p", str(pitch), "--stdout"]
        proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, check=False)
        if proc.returncode != 0 or not proc.stdout:
            err = proc.stderr.decode(errors="replace").strip()
            raise RuntimeError(f"espeak-ng failed for voice {voice.name!r}: {err}")
        samples, sr = sf.read(io.BytesIO(proc.stdout), dtype="float32")
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        return Audio(samples, int(sr))
