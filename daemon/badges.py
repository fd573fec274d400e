"""The badges (docs/seasons.md lists them): what each is for, in Korean and English. A badge is
awarded to a player once, ever (badges_awarded's primary key); daemon/actors/badge_awarder.py
awards them."""

from __future__ import annotations

import msgspec


class Badge(msgspec.Struct, frozen=True):
    code: str
    ko: str
    en: str


BADGES: tuple[Badge, ...] = (
    Badge("first_trade", "첫 거래", "First trade: an order filled"),
    Badge("ten_trades", "거래 10회", "Ten trades filled"),
    Badge("hundred_trades", "거래 100회", "A hundred trades filled"),
    Badge("three_markets", "세 시장 정복", "Traded in all three markets: KRX, US and crypto"),
    Badge("streak_30", "30일 연속 거래", "Traded on 30 days in a row (KST days)"),
    Badge("season_plus_10", "시즌 +10%", "A return of +10 % or more in a season"),
    Badge("week_top_3", "주간 TOP 3", "In the top 3 of a week's board at its end"),
    Badge("comeback", "컴백", "Fell 10 % or more from a peak, then came back above the start"),
    Badge("double_up", "두 배", "Doubled: +100 % all-time time-weighted return"),
    Badge("early_bird", "얼리버드", "Joined a season before it started"),
    Badge("season_podium", "시즌 시상대", "Finished a season in the top 3"),
    Badge("season_champion", "시즌 챔피언", "Won a season"),
)
BY_CODE = {b.code: b for b in BADGES}
