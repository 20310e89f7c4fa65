import os

import pytest

from support import small_config

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def config():
    return small_config()
