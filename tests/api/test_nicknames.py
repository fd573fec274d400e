"""Issue 9 item 13 / issue 10 item 4: nicknames are unique (letter case aside) and visible."""

from __future__ import annotations

import asyncpg
import pytest

from daemon.migrate import migrate
from tests.api.conftest import Api

pytestmark = pytest.mark.anyio


async def _signup(api: Api, username: str, nickname: str):  # type: ignore[no-untyped-def]
    return await api.client.post(
        "/api/auth/signup",
        json={"username": username, "password": "password123", "nickname": nickname},
    )


async def test_a_taken_nickname_is_409_whatever_its_case(api: Api) -> None:
    assert (await _signup(api, "minji_1", "Minji")).status_code == 201
    again = await _signup(api, "minji_2", "MINJI")
    assert again.status_code == 409
    assert "nickname" in again.json()["detail"]
    assert "taken" in again.json()["detail"]
    # The same letters composed differently (NFD) are the same nickname once normalised.
    assert (await _signup(api, "minji_3", "민지")).status_code == 201
    decomposed = "\u1106\u1175\u11ab\u110c\u1175"  # 민지 as conjoining jamo
    assert (await _signup(api, "minji_4", decomposed)).status_code == 409


@pytest.mark.parametrize(
    "nickname",
    [
        "\u3164",  # Hangul filler
        "\u2800",  # blank Braille pattern
        "\u115f\u1160",
        "\uffa0",
        "a\u200bb",  # zero-width space
        "\u202eevil",  # right-to-left override
        "a" + "\u0301" * 31,  # a pile of combining marks
        "\u0301a",
        "a\u00a0b",  # no-break space
        " padded",
        "",
        "x" * 33,
    ],
)
async def test_invisible_or_blank_nicknames_are_400(api: Api, nickname: str) -> None:
    response = await _signup(api, "ghost_1", nickname)
    assert response.status_code == 400, nickname
    assert "nickname" in response.json()["detail"]
    assert await api.platform.pool.fetchval("SELECT count(*) FROM users") == 0


@pytest.mark.parametrize("nickname", ["앨리스", "Bob 2", "🚀 rocket", "👨‍👩‍👧 family", "é́", "Zoë"])
async def test_visible_nicknames_are_fine(api: Api, nickname: str) -> None:
    response = await _signup(api, "fine_1", nickname)
    assert response.status_code == 201, response.text


async def test_the_migration_renames_existing_duplicates(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        # Back to before the migration, with duplicates as an older daemon allowed them.
        await conn.execute(
            "DROP INDEX users_nickname_lower; ALTER TABLE users DROP COLUMN token_generation;"
            " DELETE FROM schema_migrations WHERE version = 4"
        )
        for n, nickname in enumerate(["Minji", "minji", "MINJI", "other"]):
            await conn.execute(
                "INSERT INTO users (id, username, nickname, password_hash, created_at)"
                " VALUES (gen_random_uuid(), $1, $2, 'x', now() + $3 * interval '1 second')",
                f"user_{n}",
                nickname,
                n,
            )
        assert 4 in await migrate(conn)
        rows = await conn.fetch("SELECT username, nickname FROM users ORDER BY username")
        nicknames = [row["nickname"] for row in rows]
        assert nicknames[0] == "Minji"  # the oldest keeps it
        assert nicknames[3] == "other"
        assert len({n.lower() for n in nicknames}) == 4
        assert all(len(n) <= 32 for n in nicknames)
    finally:
        await conn.close()
