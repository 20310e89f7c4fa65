import json

import pytest

from dialogsmith.stages.script_format import (
    ScriptProblem,
    ScriptShape,
    check_script,
    parse_script,
    script_grammar,
    script_schema,
    trim_turn,
)

OPENER = "You sound a bit down"
SHAPE = ScriptShape(num_turns=4, reply_turn=1, opener=OPENER, max_length=12)


def script(*texts, roles=None, **extra):
    roles = roles or ["user" if i % 2 == 0 else "assistant" for i in range(len(texts))]
    turns = [{"role": r, "text": t} for r, t in zip(roles, texts, strict=True)]
    return json.dumps({"turns": turns, **extra}, ensure_ascii=False)


GOOD = script(
    "I lost my phone today.", f"{OPENER}, I am sorry.", "Can you help?", "Yes, let us look."
)


def problem_of(raw, shape=SHAPE):
    parsed = parse_script(raw)
    if isinstance(parsed, ScriptProblem):
        return parsed.reason
    found = check_script(parsed, shape)
    return found.reason if found else None


def test_good_script_passes():
    assert problem_of(GOOD) is None
    returned = script("I want to return these shoes.", f"{OPENER}, sorry.", "Thanks.", "Ok.")
    assert problem_of(returned) is None, "'return' is no prompt echo"


LONG = "one two three four five six seven eight nine ten eleven twelve thirteen"


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
                "Ok.",
                roles=["user", "user", "assistant", "assistant"],
            ),
            "speaker_order",
        ),
        (script("Hi.", f"{OPENER}.", "  ", "Sure."), "empty_turn"),
        (script("Hi.", f"{OPENER}.", LONG, "Ok."), "turn_too_long"),
        (script("Hi.", f"{OPENER}.", "assistant: here is the JSON", "Ok."), "prompt_echo"),
        (script("Hi there.", f"{OPENER}.", "hi, there!", "Ok."), "repeated_turn"),
        (script("Hi.", f"{OPENER}.", "Thanks.", f"{OPENER.lower()} again."), "opener_repeated"),
        (script("Hi.", "Sure, I can help.", "Thanks.", "Ok."), "reply_ignores_attribute"),
        (script("Hi.", f"{OPENER}.", "Mail me at jo@example.com", "Ok."), "personal_data"),
        (script("Hi.", f"{OPENER}.", "我的手机丢了怎么办", "Ok."), "wrong_language"),
    ],
)
def test_malformed_outputs_are_caught_with_a_reason(raw, reason):
    assert problem_of(raw) == reason


def test_stress_and_overheard_fields_are_required_when_planned():
    shape = ScriptShape(4, 1, OPENER, stress_turn=0, overheard=True, max_length=12)
    turns = ["I said the red car.", f"{OPENER}, the red one?", "Yes.", "Got it."]
    ok = json.loads(script(*turns, overheard="Dinner is ready!"))
    ok["turns"][0]["stressed_word"] = "red"
    assert check_script(ok, shape) is None
    ok["turns"][0]["stressed_word"] = "blue"
    assert check_script(ok, shape).reason == "stress_word_missing"
    ok["turns"][0]["stressed_word"] = "red"
    ok["overheard"] = " "
    assert check_script(ok, shape).reason == "overheard_missing"


def test_an_overheard_line_that_copies_a_turn_is_refused():
    shape = ScriptShape(4, 1, OPENER, overheard=True, max_length=12)
    turns = ["I lost my keys at the station.", f"{OPENER}, let us find them.", "Yes.", "Sure."]
    copied = json.loads(script(*turns, overheard=f"{OPENER}, let us find them!"))
    assert check_script(copied, shape).reason == "overheard_copies_turn"
    own = json.loads(script(*turns, overheard="Mum, the kettle is boiling!"))
    assert check_script(own, shape) is None


def test_chinese_turns_are_measured_in_characters():
    shape = ScriptShape(2, 1, "别难过", language="zh", max_length=10)
    assert check_script(json.loads(script("我今天丢了手机。", "别难过，我来帮你。")), shape) is None
    long_turn = script("我今天在公交车上丢了新买的手机真难受", "别难过，我来帮你。")
    assert check_script(json.loads(long_turn), shape).reason == "turn_too_long"
    assert check_script(json.loads(script("My phone is gone.", "别难过。")), shape).reason == (
        "wrong_language"
    )


def test_repair_drops_an_opener_copied_onto_another_turn():
    from dialogsmith.stages.script_format import repair_turn

    assert repair_turn(f"{OPENER}, can you help me?", 2, SHAPE) == "Can you help me?"
    assert repair_turn(f"{OPENER}, sorry.", 1, SHAPE) == f"{OPENER}, sorry."
    assert repair_turn(OPENER, 3, SHAPE) == OPENER, "nothing left: judged, not emptied"


def test_trim_cuts_overlong_turns_at_a_sentence_end():
    text = "This is fine. " + "word " * 30
    assert trim_turn(text, 10) == "This is fine."
    assert trim_turn("Short one.", 10) == "Short one."
    assert trim_turn("我很好。今天天气不错，我们出去走走吧", 8, "zh") == "我很好。"


def test_grammar_fixes_roles_count_opener_and_extras():
    lines = script_grammar(SHAPE).splitlines()
    assert lines[0].startswith("root ::=") and lines[0].count(" t") == 4
    assert f'\\"text\\": \\"{OPENER}"' in lines[2]
    assert '\\"role\\": \\"user\\"' in lines[1] and '\\"role\\": \\"assistant\\"' in lines[2]
    extras = script_grammar(ScriptShape(2, 1, OPENER, stress_turn=0, overheard=True))
    assert "stressed_word" in extras.splitlines()[1] and "overheard" in extras.splitlines()[0]


def test_schema_matches_the_shape():
    schema = script_schema(ScriptShape(6, 3, None, stress_turn=2, overheard=True))
    turns = schema["properties"]["turns"]
    assert turns["minItems"] == turns["maxItems"] == 6
    assert "stressed_word" in turns["items"]["properties"]
    assert schema["required"] == ["overheard", "turns"]
