"""Every group template renders for every target value and language, with the events."""

import json

import pytest

from dialogsmith import prompts
from dialogsmith.records import DialogueSpec, PlannedEvent, SceneSpec, SpeakerSpec
from dialogsmith.stages.script import ScriptStage, script_shape
from dialogsmith.stages.script_format import script_grammar
from dialogsmith.taxonomy import TARGET_ATTRIBUTES, TAXONOMY
from support import small_config

CASES = [
    (attribute, value, language)
    for attribute in TARGET_ATTRIBUTES
    for value, spec in TAXONOMY[attribute].values.items()
    for language in spec.openers
]


def spec_for(attribute: str, value: str, language: str, events=()) -> DialogueSpec:
    return DialogueSpec(
        dialogue_id="dlg-0000000",
        index=0,
        seed=5,
        language=language,
        topic="a lost umbrella",
        target_attribute=attribute,
        target_value=value,
        num_turns=6,
        attribute_turn=2,
        user_labels={"gender": "female", attribute: value},
        speakers=[
            SpeakerSpec("u", "user", "female", language=language),
            SpeakerSpec("a", "assistant", "male", language=language),
        ],
        scene=SceneSpec(None, None),
        events=list(events),
    )


@pytest.fixture(scope="module")
def stage():
    return ScriptStage(small_config(), "unused", engine=object())


def test_every_target_value_has_openers_in_some_language():
    assert len(CASES) >= sum(len(TAXONOMY[a].values) for a in TARGET_ATTRIBUTES)


@pytest.mark.parametrize(("attribute", "value", "language"), CASES)
def test_prompt_renders_with_the_attribute_the_opener_and_examples(
    stage, attribute, value, language
):
    spec = spec_for(attribute, value, language)
    shape = stage._shape(spec)
    system, user = stage.prompt(spec, shape)
    assert system["role"] == "system" and user["role"] == "user"
    text = user["content"]
    assert TAXONOMY[attribute].values[value].sound["en"] in text
    assert f'starts with "{shape.opener}"' in text
    assert "a lost umbrella" in text and prompts.LANGUAGE_NAMES[language] in text
    assert "turn 4 the assistant must notice" in text
    if attribute == "stress" and value == "stressed":
        assert "stressed_word" in text and "stressed_word" in script_grammar(shape)
    examples = [line for line in text.splitlines() if line.startswith('{"turns"')]
    assert examples and all(json.loads(e)["turns"] for e in examples)
    if language == "zh":
        assert "简体中文" in system["content"]


def test_event_templates_render_into_the_prompt(stage):
    events = [
        PlannedEvent("interruption", "user_interrupts", 3),
        PlannedEvent("non_query", "background_talk", 4),
    ]
    spec = spec_for("speed", "fast", "en", events)
    shape = script_shape(spec, "Slow down", 40)
    text = stage.prompt(spec, shape)[1]["content"]
    assert "cuts in before turn 4 is finished" in text
    assert 'write it in "overheard"' in text and shape.overheard
    assert '\\"overheard\\"' in script_grammar(shape)


def test_every_template_file_is_used():
    used = {"script_base.j2", "script_system_en.j2", "script_system_zh.j2"}
    used |= {f"script_{TAXONOMY[a].group}.j2" for a in TARGET_ATTRIBUTES}
    used |= {f"events_{TAXONOMY[e].group}.j2" for e in TAXONOMY.events()}
    assert set(prompts.templates()) == used


@pytest.mark.parametrize("stress_turn", [None, 2])
@pytest.mark.parametrize("overheard", [False, True])
@pytest.mark.parametrize("opener", ["You sound a bit down", "别难过", "Of course, ma'am"])
def test_grammars_compile_in_xgrammar_and_accept_a_valid_script(stress_turn, overheard, opener):
    xgrammar = pytest.importorskip("xgrammar")
    from dialogsmith.stages.script_format import ScriptShape

    shape = ScriptShape(4, 3, opener, stress_turn=stress_turn, overheard=overheard)
    grammar = xgrammar.Grammar.from_ebnf(script_grammar(shape))
    turns = [
        {"role": "user", "text": "Hi there."},
        {"role": "assistant", "text": "Hello."},
        {"role": "user", "text": "I said the red one."},
        {"role": "assistant", "text": f"{opener}, sure."},
    ]
    if stress_turn is not None:
        turns[2]["stressed_word"] = "red"
    script = {"turns": turns} | ({"overheard": "Dinner is ready!"} if overheard else {})
    text = json.dumps(script, ensure_ascii=False)
    assert xgrammar.testing._is_grammar_accept_string(grammar, text)
    assert not xgrammar.testing._is_grammar_accept_string(grammar, text.replace(opener, "Hm"))
