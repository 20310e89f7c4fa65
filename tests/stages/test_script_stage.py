from dialogsmith.stage import ShardBatch
from dialogsmith.stages.plan import PlanStage
from dialogsmith.stages.script import ScriptStage, turn_labels
from support import GrammarFollowingEngine, small_config


def scripted(engine, **overrides):
    config = small_config(**overrides)
    plan = PlanStage(config, "unused")
    plan.setup()
    batch = plan.process(ShardBatch(0, 0, config.num_dialogues))
    return ScriptStage(config, "unused", engine).process(batch).dialogues


def test_script_has_planned_turns_labels_and_reacting_reply():
    for d in scripted(GrammarFollowingEngine()):
        turns, spec = d.script.turns, d.spec
        assert len(turns) == spec.num_turns and d.script.attempts == 1
        reply = turns[spec.attribute_turn + 1]
        assert reply.role == "assistant" and reply.reacts_to == spec.target_attribute
        assert turns[spec.attribute_turn].labels[spec.target_attribute] == spec.target_value
        assert [t.labels for t in turns] == turn_labels(spec)


def test_invalid_output_is_resampled_with_a_new_seed():
    engine = GrammarFollowingEngine(broken_first=True)
    dialogues = scripted(engine)
    assert engine.calls == 2
    assert all(d.script.attempts == 2 and not d.rejected for d in dialogues)


def test_output_still_invalid_after_all_attempts_is_rejected_with_reason():
    engine = GrammarFollowingEngine(always_broken=True)
    dialogues = scripted(engine, **{"script.max_attempts": 3})
    assert engine.calls == 3
    for d in dialogues:
        assert d.script is None
        assert (d.rejection.stage, d.rejection.reason) == ("script", "invalid_json")
        assert "raw=" in d.rejection.detail
