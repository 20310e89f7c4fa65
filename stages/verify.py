"""Verify: every kept label is checked against the audio, every drop has a reason.

Per turn: ASR on the clean rendering (WER, CER) and on the turn cut from the mix; the labels
the turn was meant to carry (its target on the attribute turn, the speaker's gender) measured
on the speaker's channel by the written rules of `qa.attribute_checks`. Per dialogue: speaker
consistency of the turns' timbre embeddings, VAD on each channel against the timeline, and
every background track's SNR against its label. The policy (`verify.policy`) turns each
failed check into a rejection, a flag, or nothing; the findings stay in the record.
"""

from __future__ import annotations

import numpy as np

from dialogsmith.audio import db_to_amplitude
from dialogsmith.mixing import background_tracks, overlap_snr_db, speech_mask
from dialogsmith.qa.asr import Transcript, transcribe_all
from dialogsmith.records import (
    AttributeCheck,
    Dialogue,
    Finding,
    Turn,
    TurnAudio,
    TurnCheck,
    Verification,
)
from dialogsmith.stage import Resources, ShardBatch, Stage
from dialogsmith.tts_backends.base import Audio

REJECT_REASONS = {
    "wer": "wer_above_threshold",
    "speech": "no_speech",
    "target_attribute": "label_not_in_audio",
    "attribute": "label_not_in_audio",
    "background": "background_mismatch",
    "mix_wer": "mix_wer_above_threshold",
    "speaker": "speaker_inconsistent",
    "timeline": "timeline_mismatch",
}
"""Stable rejection reason per check (the rejects manifest's `reason`)."""


class VerifyStage(Stage):
    name = "verify"
    requires = ("script", "audio", "timeline", "channels")
    default_resources = Resources(cpus=1.0, memory_gib=1.0)

    def __init__(self, config, output, asr=None) -> None:
        super().__init__(config, output)
        self.asr = asr

    def setup(self) -> None:
        from dialogsmith.qa.asr import make_asr
        from dialogsmith.qa.attribute_checks import CheckThresholds
        from dialogsmith.qa.emotion import make_emotion_classifier
        from dialogsmith.qa.speaker import make_speaker_embedder
        from dialogsmith.qa.vad import make_vad

        cfg = self.config.verify
        if self.asr is None:
            self.asr = make_asr(cfg.asr, **_asr_options(cfg))
        self.asr.setup()
        self.vad = make_vad(cfg.vad)
        self.vad.setup()
        model = {"model": cfg.emotion_model} if cfg.emotion_model else {}
        self.emotion = make_emotion_classifier(cfg.emotion, **model)
        self.emotion.setup()
        model = {"model": cfg.speaker_model} if cfg.speaker_model else {}
        self.embedder = make_speaker_embedder(cfg.speaker_embedder, **model)
        self.embedder.setup()
        self.thresholds = CheckThresholds(**cfg.thresholds)

    def transform(self, dialogues: list[Dialogue], batch: ShardBatch) -> None:
        for dialogue in dialogues:
            self.verify(dialogue)

    def verify(self, dialogue: Dialogue) -> None:
        findings: list[Finding] = []
        turns = self._turn_checks(dialogue, findings)
        speaker = self._speaker(dialogue, findings)
        timeline = self._timeline(dialogue, findings)
        self._background(dialogue, findings)
        dialogue.verification = Verification(turns, findings, speaker, timeline)
        rejecting = [f for f in findings if f.action == "reject"]
        if rejecting:
            check = rejecting[0].check.partition(":")[0]
            detail = "; ".join(f"{f.check}: {f.detail}" for f in rejecting)
            dialogue.reject(self.name, REJECT_REASONS[check], detail)

    def _finding(
        self, findings: list[Finding], check: str, detail: str, turn: int | None = None
    ) -> None:
        action = self.config.verify.policy[check.partition(":")[0]]
        if action != "ignore":
            findings.append(Finding(check, action, detail, turn))

    # ------------------------------------------------------------------ per turn

    def _turn_checks(self, dialogue: Dialogue, findings: list[Finding]) -> list[TurnCheck]:
        from dialogsmith.qa.wer import char_error_rate, word_error_rate

        measured = self._attribute_checks(dialogue)
        checks = []
        clean = [Audio(_speech_part(a), a.sample_rate) for a in dialogue.audio]
        heard_all = self._transcribe(clean)
        mix_all = self._mix_asr(dialogue, heard_all)
        for turn, heard, (mix_text, mix_wer) in zip(
            dialogue.script.turns, heard_all, mix_all, strict=True
        ):
            check = TurnCheck(
                turn_index=turn.index,
                role=turn.role,
                hypothesis=heard.text,
                wer=round(word_error_rate(turn.text, heard.text), 4),
                confidence=round(float(heard.confidence), 4),
                max_wer=self.max_wer(dialogue, turn),
                cer=round(char_error_rate(turn.text, heard.text), 4),
                mix_hypothesis=mix_text,
                mix_wer=mix_wer,
                attributes=measured.get(turn.index, []),
            )
            self._turn_findings(dialogue, check, findings)
            checks.append(check)
        return checks

    def _turn_findings(self, dialogue: Dialogue, check: TurnCheck, findings: list[Finding]) -> None:
        index = check.turn_index
        if not check.passed:
            detail = f"WER {check.wer:.2f} > {check.max_wer:.2f}: heard {check.hypothesis!r}"
            self._finding(findings, "wer", f"turn {index} ({check.role}) {detail}", index)
        if check.mix_wer is not None and check.mix_wer > self.config.verify.max_mix_wer:
            detail = f"turn {index} WER {check.mix_wer:.2f} in the mix: {check.mix_hypothesis!r}"
            self._finding(findings, "mix_wer", detail, index)
        for result in check.attributes:
            if result.passed:
                continue
            if result.attribute == "speech":
                kind = "speech"
            elif (
                index == dialogue.spec.attribute_turn
                and result.attribute == dialogue.spec.target_attribute
            ):
                kind = f"target_attribute:{result.attribute}"
            else:
                kind = f"attribute:{result.attribute}"
            label = f"{result.attribute}={result.label}"
            detail = f"turn {index} {label} fails '{result.rule}' ({result.measured})"
            self._finding(findings, kind, detail, index)

    def _attribute_checks(self, dialogue: Dialogue) -> dict[int, list[AttributeCheck]]:
        """Measured labels per turn: the target on the attribute turn and the speaker's gender,
        against the same speaker's other turns; every turn must hold speech."""
        from dialogsmith.qa.attribute_checks import check_turn
        from dialogsmith.qa.turn_measures import measure_turn, speaker_reference

        spec = dialogue.spec
        inputs = {t.index: self._turn_input(dialogue, t, a) for t, a in _pairs(dialogue)}
        measures = {
            i: measure_turn(_speech_part(x), x.sample_rate, x.text) for i, x in inputs.items()
        }
        out = {}
        for turn, _ in _pairs(dialogue):
            wanted: list[str] = []
            reference = None
            if turn.role == "user":
                others = [
                    measures[t.index]
                    for t in dialogue.script.turns
                    if t.role == "user" and t.index != spec.attribute_turn
                ]
                reference = speaker_reference(others)
                if turn.index == spec.attribute_turn:
                    wanted = [spec.target_attribute, "gender"]
            results = check_turn(
                inputs[turn.index],
                turn.labels,
                reference,
                self.thresholds,
                self.emotion,
                attributes=wanted,
                measurements=measures[turn.index],
            )
            out[turn.index] = [_record(r) for r in results]
        return out

    def _turn_input(self, dialogue: Dialogue, turn: Turn, audio: TurnAudio):
        """The turn as its speaker's channel carries it (channel effect, room, cut), before the
        master gain."""
        from dialogsmith.qa.attribute_checks import TurnInput

        track = _speech_track(dialogue, turn.index)
        rate = dialogue.timeline.sample_rate
        master = db_to_amplitude(dialogue.timeline.master_gain_db)
        start = round(track.offset_s * rate)
        samples = dialogue.channels[turn.role][start : start + round(track.duration_s * rate)]
        return TurnInput(
            samples=(samples / master).astype(np.float32),
            sample_rate=rate,
            text=_spoken_text(turn),
            speech_start_s=audio.speech_start_s,
            stress_span_s=audio.stress_span_s,
            nonverbal_span_s=audio.nonverbal_span_s,
        )

    def _transcribe(self, clips: list[Audio]) -> list[Transcript]:
        if self.config.verify.pack_asr:
            return transcribe_all(self.asr, clips)
        return [self.asr.transcribe(clip) for clip in clips]

    def _mix_asr(
        self, dialogue: Dialogue, heard: list[Transcript]
    ) -> list[tuple[str | None, float | None]]:
        """Each turn cut from the mix, transcribed, with its WER; a turn the mix holds alone
        (only at another gain) keeps its clean transcript: one pass is enough there."""
        turns = dialogue.script.turns
        if not self.config.verify.transcribe_mix:
            return [(None, None)] * len(turns)
        from dialogsmith.qa.wer import word_error_rate

        alone = [mix_holds_turn_alone(dialogue, turn.index) for turn in turns]
        rate = dialogue.timeline.sample_rate
        pieces = []
        for turn, is_alone in zip(turns, alone, strict=True):
            if not is_alone:
                track = _speech_track(dialogue, turn.index)
                span = slice(round(track.offset_s * rate), round(track.end_s * rate))
                pieces.append(Audio(dialogue.channels["mix"][span], rate))
        mixed = iter(self._transcribe(pieces))
        results = []
        for turn, is_alone, clean in zip(turns, alone, heard, strict=True):
            text = clean.text if is_alone else next(mixed).text
            results.append((text, round(word_error_rate(_spoken_text(turn), text), 4)))
        return results

    def max_wer(self, dialogue: Dialogue, turn: Turn) -> float:
        cfg = self.config.verify
        if turn.index == dialogue.spec.attribute_turn:
            return cfg.max_wer_attribute_turn
        return cfg.max_wer_user if turn.role == "user" else cfg.max_wer_reply

    # ------------------------------------------------------------------ per dialogue

    def _speaker(self, dialogue: Dialogue, findings: list[Finding]) -> dict[str, float]:
        from dialogsmith.qa.speaker import speaker_consistency

        embeddings: dict[str, list[np.ndarray]] = {}
        for turn, audio in _pairs(dialogue):
            speech = _speech_part(audio)
            embeddings.setdefault(turn.role, []).append(
                self.embedder.embed(speech, audio.sample_rate)
            )
        result = speaker_consistency(
            embeddings, self.embedder.distance, self.config.verify.max_speaker_ratio
        )
        if not result.passed:
            limit = self.config.verify.max_speaker_ratio
            detail = f"within/between distance {result.ratio:.2f} > {limit}; strays {result.strays}"
            self._finding(findings, "speaker", detail)
        return {
            **{f"within_{r}": w for r, w in result.within.items() if np.isfinite(w)},
            "between": result.between,
            "ratio": result.ratio,
        }

    def _timeline(self, dialogue: Dialogue, findings: list[Finding]) -> dict[str, float]:
        from dialogsmith.qa.vad import overlap_regions, timeline_agreement

        cfg, timeline = self.config.verify, dialogue.timeline
        expected, detected, out = {}, {}, {}
        for role in ("user", "assistant"):
            expected[role] = [
                (t.offset_s, t.end_s)
                for t in timeline.foreground()
                if t.channel == role and t.kind != "crosstalk"
            ]
            detected[role] = self.vad.speech_regions(dialogue.channels[role], timeline.sample_rate)
            agreement = timeline_agreement(expected[role], detected[role], timeline.duration_s)
            out[f"{role}_precision"], out[f"{role}_recall"] = agreement.precision, agreement.recall
            if agreement.precision < cfg.min_vad_precision or agreement.recall < cfg.min_vad_recall:
                detail = (
                    f"{role} channel: VAD precision {agreement.precision:.2f}, recall "
                    f"{agreement.recall:.2f} against the timeline"
                )
                self._finding(findings, f"timeline:{role}", detail)
        want = overlap_regions(expected["user"], expected["assistant"])
        got = overlap_regions(detected["user"], detected["assistant"])
        out["overlap_expected_s"] = round(sum(e - s for s, e in want), 3)
        out["overlap_detected_s"] = round(sum(e - s for s, e in got), 3)
        return out

    def _background(self, dialogue: Dialogue, findings: list[Finding]) -> None:
        """Each labelled background track's SNR, measured on the exported channels over the
        speech it overlaps where no other background track is active (the mixer says where
        each track is active: an event's sounding intervals, a bed's whole span)."""
        timeline = dialogue.timeline
        if not timeline.background():
            return
        master = db_to_amplitude(timeline.master_gain_db)
        speech = (dialogue.channels["user"] + dialogue.channels["assistant"]) / master
        clips = {c.clip_id: c.samples for c in dialogue.clips or []}
        placed = background_tracks(timeline, speech.astype(np.float32), clips)
        sounding = {i: active for i, (_, active) in placed.items()}
        exported = dialogue.channels["background"] / master
        active = speech_mask(timeline)
        for index, mask in sounding.items():
            track = timeline.tracks[index]
            alone = mask & ~np.any([m for i, m in sounding.items() if i != index] or [0], axis=0)
            measured = overlap_snr_db(speech, exported, active, alone)
            if track.snr_db is None or not np.isfinite(measured):
                continue
            if abs(measured - track.snr_db) > self.config.verify.snr_tolerance_db:
                detail = (
                    f"{track.kind} {track.label}: SNR {measured:.1f} dB, labelled "
                    f"{track.snr_db:.1f} dB"
                )
                self._finding(findings, f"background:{track.kind}", detail)


def _asr_options(cfg) -> dict:
    if cfg.asr == "faster-whisper":
        return {"model": cfg.asr_model, "compute_type": cfg.asr_compute_type}
    if cfg.asr == "transformers":
        return {"model": cfg.asr_model, "device": cfg.asr_device}
    return {}


def mix_holds_turn_alone(dialogue: Dialogue, index: int) -> bool:
    """The turn's span of the mix is the turn's clean audio at another gain: no other track
    sounds there, and no room, channel effect or cut changes it."""
    timeline = dialogue.timeline
    track = _speech_track(dialogue, index)
    if track.effect or track.fade_out_s or (timeline.room and track.room_position):
        return False
    annotations = ("nonverbal", "stress")
    return not any(
        other is not track
        and other.kind not in annotations
        and other.offset_s < track.end_s
        and other.end_s > track.offset_s
        for other in timeline.tracks
    )


def _pairs(dialogue: Dialogue):
    return zip(dialogue.script.turns, dialogue.audio, strict=True)


def _speech_track(dialogue: Dialogue, index: int):
    return next(t for t in dialogue.timeline.speech() if t.turn_index == index)


def _spoken_text(turn: Turn) -> str:
    if turn.cut_at_word is None:
        return turn.text
    from dialogsmith.stages.scene_timing import word_units

    units = word_units(turn.text)
    joiner = " " if " " in turn.text.strip() else ""
    return joiner.join(units[: turn.cut_at_word])


def _speech_part(turn) -> np.ndarray:
    """The speech after any non-verbal sound, of a `TurnAudio` or a `TurnInput`."""
    return turn.samples[round(turn.speech_start_s * turn.sample_rate) :]


def _record(result) -> AttributeCheck:
    return AttributeCheck(
        result.attribute, result.label, result.passed, result.rule, dict(result.measured)
    )
