import pytest

from dialogsmith.executors.ray import GIB, _check_capacity
from dialogsmith.stages.render import RenderStage
from dialogsmith.stages.verify import VerifyStage
from support import small_config


def test_a_cluster_too_small_for_one_actor_per_stage_is_refused_with_the_shortfall():
    config = small_config()
    probes = [RenderStage(config, "x"), VerifyStage(config, "x")]
    _check_capacity({"CPU": 4.0, "memory": 8.0 * GIB}, probes)
    with pytest.raises(RuntimeError, match=r"memory 2\.0 wanted, 1\.5 free.*render"):
        _check_capacity({"CPU": 4.0, "memory": 1.5 * GIB}, probes)
    with pytest.raises(RuntimeError, match=r"CPU 2\.0 wanted, 1\.0 free"):
        _check_capacity({"CPU": 1.0, "memory": 8.0 * GIB}, probes)
