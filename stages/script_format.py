"""The script's output format: the GBNF grammar or JSON schema that shapes it, and the checks
that parse it.

The grammar fixes the turn count, the roles and the opening words of the reply that must react
to the attribute; the checks catch what a grammar cannot (length, language, repeats, echoes,
personal data) and are the only guard when the engine gets a JSON schema instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from dialogsmith.qa.text_checks import check_text
from dialogsmith.records import Role

TEXT_RULE = 'text ::= [^"\\\\\\n\\r{}\\[\\]]+'
ECHO = re.compile(r"\b(user|assistant|system)\s*:|\bturn \d|\bjson\b|[{}<>|]|用户：|助手：", re.I)
WORD = re.compile(r"[A-Za-z']+|[\u3400-\u9fff]")


def role_of(index: int) -> Role:
    return "user" if index % 2 == 0 else "assistant"


@dataclass(frozen=True)
class ScriptShape:
    """What the LLM must produce for one dialogue."""

    num_turns: int
    reply_turn: int
    opener: str | None
    language: str = "en"
    stress_turn: int | None = None
    overheard: bool = False
    max_length: int = 40


@dataclass(frozen=True)
class ScriptProblem:
    reason: str
    detail: str


def script_grammar(shape: ScriptShape) -> str:
    """GBNF for {"turns": [...]} with fixed roles; the reply turn starts with the opener."""
    rules = []
    for i in range(shape.num_turns):
        head = '{"role": "' + role_of(i) + '", "text": "'
        prefix = head + (shape.opener or "" if i == shape.reply_turn else "")
        tail = '", "stressed_word": "' if i == shape.stress_turn else None
        body = f"{json.dumps(prefix)} text" + (f" {json.dumps(tail)} word" if tail else "")
        rules.append(f't{i} ::= {body} "\\"}}"')
    turns = ' ", " '.join(f"t{i}" for i in range(shape.num_turns))
    extra = ' ", \\"overheard\\": \\"" text "\\""' if shape.overheard else ""
    root = f'root ::= "{{\\"turns\\": [" {turns} "]"{extra} "}}"'
    return "\n".join([root, *rules, TEXT_RULE, 'word ::= [^"\\\\\\n\\r {}\\[\\]]+'])


def script_schema(shape: ScriptShape) -> dict:
    """The same shape as a JSON schema, for engines without grammar support."""
    turn = {
        "type": "object",
        "properties": {"role": {"enum": ["user", "assistant"]}, "text": {"type": "string"}},
        "required": ["role", "text"],
    }
    if shape.stress_turn is not None:
        turn["properties"]["stressed_word"] = {"type": "string"}
    n = shape.num_turns
    properties = {"turns": {"type": "array", "items": turn, "minItems": n, "maxItems": n}}
    if shape.overheard:
        properties["overheard"] = {"type": "string"}
    return {"type": "object", "properties": properties, "required": sorted(properties)}


def parse_script(raw: str) -> dict | ScriptProblem:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        return ScriptProblem("invalid_json", f"{err.msg} at char {err.pos} of {len(raw)}")
    turns = data.get("turns") if isinstance(data, dict) else None
    if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
        return ScriptProblem("wrong_shape", "expected {'turns': [{'role', 'text'}, ...]}")
    return data


def check_script(data: dict, shape: ScriptShape) -> ScriptProblem | None:
    turns = data["turns"]
    if len(turns) != shape.num_turns:
        return ScriptProblem("turn_count", f"{len(turns)} turns, planned {shape.num_turns}")
    seen: set[str] = set()
    for i, turn in enumerate(turns):
        problem = _check_turn(i, turn, shape, seen)
        if problem:
            return problem
    reply = str(turns[shape.reply_turn].get("text", ""))
    if shape.opener and not reply.startswith(shape.opener):
        return ScriptProblem(
            "reply_ignores_attribute", f"turn {shape.reply_turn} lacks {shape.opener!r}"
        )
    if shape.stress_turn is not None:
        word = str(turns[shape.stress_turn].get("stressed_word", "")).strip(" .,!?")
        if not word or word.lower() not in str(turns[shape.stress_turn].get("text", "")).lower():
            return ScriptProblem("stress_word_missing", f"stressed word {word!r} not in its turn")
    if shape.overheard:
        return _check_overheard(str(data.get("overheard", "")), turns)
    return None


OVERHEARD_COPY_RATIO = 0.6
"""Word-sequence similarity (difflib) above which an overheard line copies a turn."""


def _check_overheard(text: str, turns: list[dict]) -> ScriptProblem | None:
    """The overheard line exists and is its own sentence, not a copy of a turn (the model
    tends to repeat the assistant's line there)."""
    from difflib import SequenceMatcher

    words = [w.lower() for w in WORD.findall(text)]
    if not words:
        return ScriptProblem("overheard_missing", "no overheard line for the non-query event")
    for i, turn in enumerate(turns):
        other = [w.lower() for w in WORD.findall(str(turn.get("text", "")))]
        if SequenceMatcher(None, words, other).ratio() > OVERHEARD_COPY_RATIO:
            return ScriptProblem("overheard_copies_turn", f"the overheard line copies turn {i}")
    return None


def _check_turn(i: int, turn: dict, shape: ScriptShape, seen: set[str]) -> ScriptProblem | None:
    role, text = turn.get("role"), str(turn.get("text", "")).strip()
    if role != role_of(i):
        return ScriptProblem("speaker_order", f"turn {i} is {role!r}, expected {role_of(i)}")
    units = WORD.findall(text)
    if not units:
        return ScriptProblem("empty_turn", f"turn {i} has no words")
    if len(units) > shape.max_length:
        return ScriptProblem("turn_too_long", f"turn {i} has {len(units)} > {shape.max_length}")
    if ECHO.search(text):
        return ScriptProblem("prompt_echo", f"turn {i}: {text[:60]!r}")
    if shape.opener and i != shape.reply_turn and text.lower().startswith(shape.opener.lower()):
        return ScriptProblem("opener_repeated", f"turn {i} reuses {shape.opener!r}")
    flagged = check_text(text, shape.language)
    if flagged:
        return ScriptProblem(flagged[0], f"turn {i}: {flagged[1]}")
    key = " ".join(u.lower() for u in units)
    if key in seen:
        return ScriptProblem("repeated_turn", f"turn {i} repeats an earlier turn")
    seen.add(key)
    return None


def repair_turn(text: str, index: int, shape: ScriptShape) -> str:
    """The repairs tried before a script is judged: drop the forced opener where the model
    copied it onto another turn, and cut an overlong turn at a sentence end."""
    opener = shape.opener
    if opener and index != shape.reply_turn and text.lower().startswith(opener.lower()):
        rest = text[len(opener) :].lstrip(" ,.!?;:，。！？")
        text = rest[:1].upper() + rest[1:] if rest else text
    return trim_turn(text, shape.max_length, shape.language)


def trim_turn(text: str, max_length: int, language: str = "en") -> str:
    """Repair an overlong turn by cutting at the last sentence end within the length limit."""
    if language == "zh":
        if len(WORD.findall(text)) <= max_length:
            return text
        head = text[: max_length + text.count(" ")]
        end = max(head.rfind(mark) for mark in "。！？")
        return head[: end + 1] if end > 0 else head
    words = text.split()
    if len(words) <= max_length:
        return text
    head = " ".join(words[:max_length])
    end = max(head.rfind(mark) for mark in ".!?")
    return head[: end + 1] if end > 0 else head
