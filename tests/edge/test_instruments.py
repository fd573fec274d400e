"""The edge's instrument list, read from the seed migrations, is the database's list."""

from __future__ import annotations

import asyncpg
import pytest

from daemon.edge.instruments import seeded_instruments
from daemon.instruments import load_instruments

pytestmark = pytest.mark.anyio


async def test_the_edge_knows_exactly_the_instruments_the_database_has(pool: asyncpg.Pool) -> None:
    def by_id(instrument):  # type: ignore[no-untyped-def]
        return instrument.ticker_id

    seeded = sorted(seeded_instruments(), key=by_id)
    assert seeded == sorted(await load_instruments(pool), key=by_id)
    assert "CRYPTO-COIN-BTC" in {i.ticker_id for i in seeded}
