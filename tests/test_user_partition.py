"""`user_partition` (sql/0012_user_partition.sql) puts every user in the same settlement partition
as `partition_of` does, so a partition's start-up reads exactly its own open orders."""

from __future__ import annotations

import random
import uuid

import asyncpg
import pytest

from daemon.actors.settlement import partition_of

pytestmark = pytest.mark.anyio


async def test_the_database_and_settlement_agree_on_every_users_partition(
    pool: asyncpg.Pool,
) -> None:
    rng = random.Random(12)
    ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(2000)]
    ids += [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.UUID(int=2**127), uuid.uuid4()]
    for partitions in (1, 2, 3, 4, 7, 16, 255):
        rows = await pool.fetch(
            "SELECT id, user_partition(id, $2) AS p FROM unnest($1::uuid[]) AS id", ids, partitions
        )
        assert {row["id"]: row["p"] for row in rows} == {
            user_id: partition_of(user_id, partitions) for user_id in ids
        }
