import json

import pytest

from dialogsmith.stages.script_format import (
    ScriptProblem,
    check_turns,
    parse_turns,
    script_grammar,
    trim_turn,
)

OPENER = "You sound a bit down"


def script(*texts, roles=None):
    roles = roles or ["user" if i % 2 == 0 else "assistant" for i in range(len(texts))]
    turns = [{"role": r, "text": t} for r, t in zip(roles, texts, strict=True)]
    return json.dumps({"turns": turns})


GOOD = script(
    "I lost my phone today.", f"{OPENER}, I am sorry.", "Can you help?", "Yes, let us look."
)


def problem_of(raw, num_turns=4):
    parsed = parse_turns(raw)
    if isinstance(parsed, ScriptProblem):
        return parsed.reason
    found = check_turns(parsed, num_turns, 1, OPENER, max_words=12)
    return found.reason if found else None


def test_good_script_passes():
    assert problem_of(GOOD) is None
    returned = script("I want to return these shoes.", f"{OPENER}, sorry.", "Thanks.", "Ok.")
    assert problem_of(returned) is None, "'return' is no prompt echo"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (GOOD[:-20], "invalid_json"),
        ("", "invalid_json"),
        ('["not", "an", "object"]', "wrong_shape"),
        ('{"turns": "none"}', "wrong_shape"),
        (script("Hi.", f"{OPENER}.", "Bye."), "turn_count"),
        (
            script(
                "Hi.",
                f"{OPENER}.",
                "Help?",
                "Sure.",
                roles=["user", "user", "assistant", "assistant"],
            ),
            "speaker_order",
        ),
        (script("Hi.", f"{OPENER}.", "  ", "Sure."), "empty_turn"),
        (
            script(
                "Hi.",
                f"{OPENER}.",
                "one two three four five six seven eight nine ten eleven twelve thirteen",
                "Ok.",
            ),
            "turn_too_long",
        ),
        (script("Hi.", f"{OPENER}.", "assistant: here is the JSON", "Ok."), "prompt_echo"),
        (script("Hi there.", f"{OPENER}.", "hi, there!", "Ok."), "repeated_turn"),
        (script("Hi.", f"{OPENER}.", "Thanks.", f"{OPENER.lower()} again."), "opener_repeated"),
        (script("Hi.", "Sure, I can help.", "Thanks.", "Ok."), "reply_ignores_attribute"),
    ],
)
def test_malformed_outputs_are_caught_with_a_reason(raw, reason):
    assert problem_of(raw) == reason


def test_trim_cuts_overlong_turns_at_a_sentence_end():
    text = "This is fine. " + "word " * 30
    assert trim_turn(text, 10) == "This is fine."
    assert trim_turn("Short one.", 10) == "Short one."


def test_grammar_fixes_roles_count_and_opener():
    grammar = script_grammar(4, 1, OPENER)
    lines = grammar.splitlines()
    assert lines[0].startswith("root ::=") and lines[0].count(" t") == 4
    assert f'\\"text\\": \\"{OPENER}"' in lines[2]
    assert '\\"role\\": \\"user\\"' in lines[1] and '\\"role\\": \\"assistant\\"' in lines[2]
    assert lines[-1].startswith("text ::=")
