"""Keeps the rankings pages' boards computed ahead of their requests (`Rankings.keep_warm`), so a
page reads a board computed in the last few seconds instead of waiting for one."""

from __future__ import annotations

import anyio

from daemon.rankings import Rankings

_POLL = 0.5  # seconds between looks; the boards' ages are on the injected clock


class BoardWarmer:
    def __init__(self, rankings: Rankings, poll: float = _POLL) -> None:
        self._rankings = rankings
        self._poll = poll

    async def run(self) -> None:
        # Nothing to recover: the boards worth keeping warm are those asked for from now on.
        while True:
            await self._rankings.keep_warm()
            await anyio.sleep(self._poll)
