from dialogsmith.stage import ShardBatch
from dialogsmith.stages.plan import PlanStage
from dialogsmith.stages.script import ScriptStage, turn_labels
from support import DyingEngine, GrammarFollowingEngine, small_config


def planned(**overrides):
    config = small_config(**overrides)
    plan = PlanStage(config, "unused")
    plan.setup()
    return config, plan.process(ShardBatch(0, 0, config.num_dialogues))


def scripted(engine, **overrides):
    config, batch = planned(**overrides)
    return ScriptStage(config, "unused", engine).process(batch).dialogues


def test_a_dead_engine_is_replaced_and_the_call_runs_again():
    make, made = DyingEngine.factory(deaths=1)
    config, batch = planned()
    stage = ScriptStage(config, "unused", engine_factory=make)
    dialogues = stage.process(batch).dialogues
    assert len(made) == 2 and made[0].closed and not made[1].closed
    assert all(d.script is not None and not d.rejected for d in dialogues)
    assert batch.llm_tokens["requests"] == len(dialogues)


def test_an_engine_that_dies_twice_rejects_the_shard_and_the_next_shard_runs():
    make, made = DyingEngine.factory(deaths=2)
    config, batch = planned()
    stage = ScriptStage(config, "unused", engine_factory=make)
    first = stage.process(batch).dialogues
    assert all(d.rejection.reason == "engine_failed" for d in first)
    assert "execute_model timed out" in first[0].rejection.detail
    _, second_batch = planned()
    second = stage.process(second_batch).dialogues
    assert len(made) == 3 and all(d.script is not None for d in second)


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
