"""Verify: every kept label is checked against the audio, every drop has a reason.

Per turn: ASR on the clean rendering (WER, CER) and on the turn cut from the mix; every label
of the turn (its target, the neutral values of the others, the speaker's gender) measured on
the speaker's channel by the written rules of `qa.attribute_checks`, whose bands are the
taxonomy's. Per dialogue: speaker consistency of the turns' timbre embeddings, VAD on each
channel against the timeline, the overlaps heard on both channels against the timeline's,
every planned event present (`qa.label_fidelity`), and every background track's SNR against
its label. The policy (`verify.policy`) turns each failed check into a rejection, a flag, or
nothing; the findings stay in the record.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from dialogsmith.audio import db_to_amplitude
from dialogsmith.mixing import background_tracks, overlap_snr_db, speech_mask
from dialogsmith.qa.asr import Transcript, transcribe_all
from dialogsmith.qa.label_fidelity import missing_events
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
from dialogsmith.taxonomy import heard_value
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
    "overlap": "overlap_not_heard",
    "events": "event_missing",
}
"""Stable rejection reason per check (the rejects manifest's `reason`)."""
BANDED = {"speed": "rate_ratio", "volume": "level_delta_db"}
"""Labels with taxonomy bands, and the measurement their bands are on."""


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
        for missing in missing_events(dialogue):
            self._finding(findings, "events", f"{missing} is planned but not in the audio")
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
        action = "flag" if action == "relabel" else action  # what `_relabel` could not fix
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
                attributes=self._relabel(dialogue, turn, measured.get(turn.index, []), findings),
            )
            self._turn_findings(dialogue, check, findings)
            checks.append(check)
        return checks

    def _relabel(
        self, dialogue: Dialogue, turn: Turn, checks: list[AttributeCheck], findings: list[Finding]
    ) -> list[AttributeCheck]:
        """Under `policy.attribute: relabel`, a failed speed or volume label that is not the
        dialogue's target becomes the value whose heard band holds the measurement (taxonomy
        `band`), or is dropped where none does; the script's turn and its checks say so."""
        if self.config.verify.policy["attribute"] != "relabel":
            return checks
        spec, labels, kept = dialogue.spec, dict(turn.labels), []
        for check in checks:
            target = turn.index == spec.attribute_turn and check.attribute == spec.target_attribute
            if check.passed or target or check.attribute not in BANDED:
                kept.append(check)
                continue
            measured = check.measured.get(BANDED[check.attribute])
            heard = None if measured is None else heard_value(check.attribute, float(measured))
            labels.pop(check.attribute)
            if heard is not None:
                labels[check.attribute] = heard
                kept.append(replace(check, label=heard, passed=True, rule=self._rule(check, heard)))
            detail = (
                f"turn {turn.index} {check.attribute}={check.label} sounds "
                f"{heard or 'between the bands'} ({check.measured}): "
                f"{'relabelled ' + heard if heard else 'label dropped'}"
            )
            findings.append(Finding(f"attribute:{check.attribute}", "relabel", detail, turn.index))
        if labels != turn.labels:
            turns = list(dialogue.script.turns)
            turns[turn.index] = replace(turn, labels=labels)
            dialogue.script = replace(dialogue.script, turns=turns)
        return kept

    def _rule(self, check: AttributeCheck, label: str) -> str:
        return self.thresholds.rule(check.attribute, label)

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
        """Every label of every turn measured (`qa.label_fidelity.label_checks`); every turn
        must hold speech."""
        from dialogsmith.qa.label_fidelity import label_checks

        inputs = {t.index: self._turn_input(dialogue, t, a) for t, a in _pairs(dialogue)}
        results = label_checks(dialogue, inputs, self.thresholds, self.emotion)
        return {index: [_record(r) for r in checks] for index, checks in results.items()}

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
        from dialogsmith.qa.label_fidelity import expected_speech, heard_overlaps
        from dialogsmith.qa.vad import timeline_agreement

        cfg, timeline = self.config.verify, dialogue.timeline
        detected, out = {}, {}
        for role in ("user", "assistant"):
            detected[role] = self.vad.speech_regions(dialogue.channels[role], timeline.sample_rate)
            expected = expected_speech(dialogue, role)
            agreement = timeline_agreement(expected, detected[role], timeline.duration_s)
            out[f"{role}_precision"], out[f"{role}_recall"] = agreement.precision, agreement.recall
            if agreement.precision < cfg.min_vad_precision or agreement.recall < cfg.min_vad_recall:
                detail = (
                    f"{role} channel: VAD precision {agreement.precision:.2f}, recall "
                    f"{agreement.recall:.2f} against the timeline"
                )
                self._finding(findings, f"timeline:{role}", detail)
        heard = heard_overlaps(dialogue, detected)
        out["overlap_expected_s"], out["overlap_detected_s"] = heard.expected_s, heard.heard_s
        out["overlaps_expected"], out["overlaps_heard"] = float(heard.expected), float(heard.heard)
        if abs(heard.expected_s - heard.heard_s) > cfg.overlap_tolerance_s:
            detail = (
                f"both speakers heard for {heard.heard_s:.2f} s, the timeline overlaps them "
                f"for {heard.expected_s:.2f} s"
            )
            self._finding(findings, "overlap", detail)
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
