"""Start-up's objects are set aside from the cyclic collector once the platform is open."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from daemon.clock import TestClock
from daemon.heap import YOUNG_GENERATION_THRESHOLD
from tests.conftest import KRX_OPEN, running_platform

_PROBE = """
import gc
import daemon.platform  # the daemon's libraries, as `papertrade run` imports them
from daemon.heap import freeze_startup_objects
before = len(gc.get_objects())
freeze_startup_objects()
frozen = gc.get_freeze_count()
freeze_startup_objects()
print(before, frozen, gc.get_freeze_count(), len(gc.get_objects()), gc.get_threshold()[0])
"""


def test_what_start_up_built_is_frozen_once_and_full_collections_skip_it() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    ).stdout
    before, frozen, frozen_again, tracked_after, young = map(int, out.split())
    assert before > 100_000  # what a full collection walked each time before
    assert frozen >= before * 0.9
    assert frozen_again == frozen  # a second platform in the same process adds nothing
    assert tracked_after < before / 10
    assert young == YOUNG_GENERATION_THRESHOLD


@pytest.mark.anyio
async def test_opening_the_platform_freezes_start_up(database_url: str) -> None:
    async with running_platform(database_url, TestClock(KRX_OPEN)):
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD
