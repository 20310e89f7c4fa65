"""Verify: ASR on every turn, WER against the script, reject over threshold with the reason."""

from __future__ import annotations

from dialogsmith.records import Dialogue, Turn, TurnCheck, Verification
from dialogsmith.stage import Resources, ShardBatch, Stage
from dialogsmith.tts_backends.base import Audio


class VerifyStage(Stage):
    name = "verify"
    requires = ("script", "audio")
    default_resources = Resources(cpus=1.0, memory_gib=1.0)

    def __init__(self, config, output, asr=None) -> None:
        super().__init__(config, output)
        self.asr = asr

    def setup(self) -> None:
        if self.asr is None:
            from dialogsmith.qa.asr import FasterWhisperASR

            cfg = self.config.verify
            self.asr = FasterWhisperASR(model=cfg.asr_model, compute_type=cfg.asr_compute_type)
        self.asr.setup()

    def transform(self, dialogues: list[Dialogue], batch: ShardBatch) -> None:
        from dialogsmith.qa.wer import word_error_rate

        for dialogue in dialogues:
            checks = []
            for turn, audio in zip(dialogue.script.turns, dialogue.audio, strict=True):
                speech = audio.samples[round(audio.speech_start_s * audio.sample_rate) :]
                transcript = self.asr.transcribe(Audio(speech, audio.sample_rate))
                checks.append(
                    TurnCheck(
                        turn_index=turn.index,
                        role=turn.role,
                        hypothesis=transcript.text,
                        wer=round(word_error_rate(turn.text, transcript.text), 4),
                        confidence=round(float(transcript.confidence), 4),
                        max_wer=self.max_wer(dialogue, turn),
                    )
                )
            dialogue.verification = Verification(turns=checks)
            failed = dialogue.verification.failed
            if failed:
                detail = "; ".join(
                    f"turn {c.turn_index} ({c.role}) WER {c.wer:.2f} > {c.max_wer:.2f}: "
                    f"heard {c.hypothesis!r}"
                    for c in failed
                )
                dialogue.reject(self.name, "wer_above_threshold", detail)

    def max_wer(self, dialogue: Dialogue, turn: Turn) -> float:
        cfg = self.config.verify
        if turn.index == dialogue.spec.attribute_turn:
            return cfg.max_wer_attribute_turn
        return cfg.max_wer_user if turn.role == "user" else cfg.max_wer_reply
