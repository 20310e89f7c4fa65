"""The script's output format: the GBNF grammar that forces it, and the checks that parse it.

The grammar fixes the turn count, the roles and the opening words of the reply that must
react to the attribute; the checks catch what a grammar cannot (length, repeats, echoes).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from dialogsmith.records import Role, Turn

TEXT_RULE = 'text ::= [^"\\\\\\n\\r{}\\[\\]]+'
ECHO = re.compile(r"\b(user|assistant|system)\s*:|\bturn \d|\bjson\b|[{}<>|]", re.I)
WORD = re.compile(r"[A-Za-z']+")


def role_of(index: int) -> Role:
    return "user" if index % 2 == 0 else "assistant"


def _quote(text: str) -> str:
    return json.dumps(text)  # GBNF string literals escape like JSON strings


def script_grammar(num_turns: int, reply_turn: int, opener: str) -> str:
    """GBNF for {"turns": [...]} with fixed roles; turn `reply_turn` starts with `opener`."""
    turns = []
    for i in range(num_turns):
        head = '{"role": "' + role_of(i) + '", "text": "'
        prefix = head + (opener if i == reply_turn else "")
        turns.append(f't{i} ::= {_quote(prefix)} text "\\"}}"')
    body = ' ", " '.join(f"t{i}" for i in range(num_turns))
    root = f'root ::= "{{\\"turns\\": [" {body} "]}}"'
    return "\n".join([root, *turns, TEXT_RULE])


@dataclass(frozen=True)
class ScriptProblem:
    reason: str
    detail: str


def parse_turns(raw: str) -> list[dict] | ScriptProblem:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        return ScriptProblem("invalid_json", f"{err.msg} at char {err.pos} of {len(raw)}")
    turns = data.get("turns") if isinstance(data, dict) else None
    if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
        return ScriptProblem("wrong_shape", "expected {'turns': [{'role', 'text'}, ...]}")
    return turns


def check_turns(
    turns: list[dict], num_turns: int, reply_turn: int, opener: str, max_words: int
) -> ScriptProblem | None:
    if len(turns) != num_turns:
        return ScriptProblem("turn_count", f"{len(turns)} turns, planned {num_turns}")
    seen: set[str] = set()
    for i, turn in enumerate(turns):
        role, text = turn.get("role"), str(turn.get("text", "")).strip()
        if role != role_of(i):
            return ScriptProblem("speaker_order", f"turn {i} is {role!r}, expected {role_of(i)}")
        words = WORD.findall(text)
        if not words:
            return ScriptProblem("empty_turn", f"turn {i} has no words")
        if len(words) > max_words:
            return ScriptProblem("turn_too_long", f"turn {i} has {len(words)} > {max_words}")
        if ECHO.search(text):
            return ScriptProblem("prompt_echo", f"turn {i}: {text[:60]!r}")
        if i != reply_turn and text.lower().startswith(opener.lower()):
            return ScriptProblem("opener_repeated", f"turn {i} reuses {opener!r}")
        key = " ".join(w.lower() for w in words)
        if key in seen:
            return ScriptProblem("repeated_turn", f"turn {i} repeats an earlier turn")
        seen.add(key)
    if not str(turns[reply_turn].get("text", "")).startswith(opener):
        return ScriptProblem("reply_ignores_attribute", f"turn {reply_turn} lacks {opener!r}")
    return None


def trim_turn(text: str, max_words: int) -> str:
    """Repair an overlong turn by cutting at the last sentence end within the word limit."""
    words = text.split()
    if len(words) <= max_words:
        return text
    head = " ".join(words[:max_words])
    end = max(head.rfind(mark) for mark in ".!?")
    return head[: end + 1] if end > 0 else head


def to_turns(turns: list[dict], reply_turn: int, attribute: str, labels: list[dict]) -> list[Turn]:
    return [
        Turn(
            index=i,
            role=role_of(i),
            text=" ".join(str(t["text"]).split()),
            labels=labels[i],
            reacts_to=attribute if i == reply_turn else None,
        )
        for i, t in enumerate(turns)
    ]
