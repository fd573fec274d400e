"""Trailing stops of one ticker and side, grouped by their mark, so a new high costs per group.

A new high moves every SELL mark below it to that high (a new low every BUY mark above it), so
orders that share a mark stay together: a group. A new best price relabels the largest group it
passes and moves the orders of the others into it (each order moves into a group at least as
large as its own, so an order moves O(log n) times in all), whatever the number of orders.

A stop is `round(mark ∓ trail)`, monotone in the trail, so each group keeps its orders sorted by
`trail_percent` and by `trail_amount` (closest stop first), and the book keeps the groups sorted
by the unrounded stop of their closest order: a quote looks only at the groups and orders whose
stops it reaches, O(log g + k). Rounding to the tick table is monotone too, so the unrounded
order is the rounded one. Pure: no I/O.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Final, Literal, NamedTuple
from uuid import UUID

from sortedcontainers import SortedDict, SortedList

from daemon.engine.ticks import TickTable

Side = Literal["BUY", "SELL"]
HUNDRED: Final = Decimal(100)
# A stop no quote reaches, per side.
_NEVER: Final = {"SELL": Decimal("-Infinity"), "BUY": Decimal("Infinity")}


class Trail(NamedTuple):
    """Where a trailing stop sits: its side, its mark, and its trail (a percent or an amount)."""

    side: Side
    mark: Decimal
    percent: Decimal | None
    amount: Decimal | None


def raw_stop(side: str, mark: Decimal, percent: Decimal | None, amount: Decimal | None) -> Decimal:
    """mark ∓ trail_amount, or mark × (1 ∓ trail_percent/100), before rounding to a tick."""
    if amount is not None:
        offset = amount
    else:
        assert percent is not None
        offset = mark * percent / HUNDRED
    return mark - offset if side == "SELL" else mark + offset


def trail_stop(
    side: str, mark: Decimal, percent: Decimal | None, amount: Decimal | None, table: TickTable
) -> Decimal:
    """The stop on the tick away from the mark (a SELL's rounds down, a BUY's up): it never sits
    closer to the mark than the trail asked."""
    raw = raw_stop(side, mark, percent, amount)
    return table.round_down(raw) if side == "SELL" else table.round_up(raw)


_Entry = tuple[Decimal, int, UUID]  # (trail, arrival sequence, order id): closest stop first


class _Group:
    __slots__ = ("amount", "closest", "head", "mark", "number", "percent")

    def __init__(self, mark: Decimal, number: int) -> None:
        self.mark = mark
        self.number = number  # tells groups apart in the heads list
        self.percent: SortedList = SortedList()  # entries by trail_percent
        self.amount: SortedList = SortedList()  # entries by trail_amount
        self.head: tuple[Decimal, int] | None = None  # this group's entry in TrailBook._heads
        # The closest stop, rounded with a table: (table, stop); None once the group changed.
        self.closest: tuple[TickTable, Decimal] | None = None

    def closest_stop(self, side: str, table: TickTable) -> Decimal:
        """The stop of this group's closest order, rounded with `table` (kept until it changes)."""
        if self.closest is None or self.closest[0] is not table:
            stops = [
                trail_stop(side, self.mark, entries[0][0] if by_percent else None,
                           None if by_percent else entries[0][0], table)
                for entries, by_percent in ((self.percent, True), (self.amount, False))
                if entries
            ]  # fmt: skip
            self.closest = (table, max(stops) if side == "SELL" else min(stops))
        return self.closest[1]

    def __len__(self) -> int:
        return len(self.percent) + len(self.amount)


class TrailBook:
    def __init__(self, side: Side) -> None:
        self._side: Side = side
        self._sign = 1 if side == "SELL" else -1  # keys: best first, and passed marks first
        self._groups: SortedDict = SortedDict()  # sign × mark -> group
        self._heads: SortedList = SortedList()  # (-sign × best unrounded stop, group number)
        self._by_number: dict[int, _Group] = {}
        self._where: dict[UUID, tuple[_Group, _Entry]] = {}
        self._numbers = itertools.count()
        self._moved: set[_Group] = set()  # groups whose mark moved since `take_moved`

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._where

    def add(self, order_id: UUID, sequence: int, trail: Trail) -> None:
        if trail.side != self._side:
            raise ValueError(f"a {trail.side} trail in the {self._side} book")
        key = self._sign * trail.mark
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(trail.mark, next(self._numbers))
        if trail.amount is not None:
            entry = (trail.amount, sequence, order_id)
            group.amount.add(entry)
        else:
            assert trail.percent is not None
            entry = (trail.percent, sequence, order_id)
            group.percent.add(entry)
        self._where[order_id] = (group, entry)
        self._rehead(group)

    def remove(self, order_id: UUID) -> None:
        group, entry = self._where.pop(order_id)
        (group.amount if entry in group.amount else group.percent).remove(entry)
        if group:
            self._rehead(group)
        else:
            self._drop(group)

    def mark_of(self, order_id: UUID) -> Decimal:
        return self._where[order_id][0].mark

    def move(self, last: Decimal) -> bool:
        """A last trade of `last`: every mark it passes becomes `last` (SELL: marks below it, BUY:
        marks above it). Whether any moved."""
        key = self._sign * last
        if not self._groups or self._groups.peekitem(0)[0] >= key:
            return False  # most ticks pass no mark: one comparison
        passed = [self._groups[k] for k in self._groups.islice(stop=self._groups.bisect_left(key))]
        at_last = self._groups.get(key)
        groups = passed if at_last is None else [*passed, at_last]
        for group in groups:
            self._drop(group)
        target = max(groups, key=len)
        for group in groups:
            if group is target:
                continue
            for entries, into in ((group.percent, target.percent), (group.amount, target.amount)):
                into.update(entries)
                for entry in entries:
                    self._where[entry[2]] = (target, entry)
        target.mark = last
        self._groups[key] = target
        self._rehead(target)
        self._moved.add(target)
        return True

    def triggered(self, reach: Decimal, table: TickTable) -> list[_Entry]:
        """The orders whose stop `reach` reaches (SELL: stop ≥ the lower of bid and last; BUY:
        stop ≤ the higher of ask and last), as (stop, sequence, id), best first."""
        found: list[_Entry] = []
        sign = self._sign
        for _, number in self._heads:
            group = self._by_number[number]
            if sign * (group.closest_stop(self._side, table) - reach) < 0:
                break  # not even its closest stop is reached; later groups' are no closer
            before = len(found)
            for entries, by_percent in ((group.percent, True), (group.amount, False)):
                for trail, sequence, order_id in entries:
                    stop = trail_stop(
                        self._side,
                        group.mark,
                        trail if by_percent else None,
                        None if by_percent else trail,
                        table,
                    )
                    if sign * (stop - reach) < 0:  # SELL: stop below the reach; BUY: above
                        break
                    found.append((stop, sequence, order_id))
            if len(found) == before:
                break  # groups later in the heads have stops no closer than this one's
        found.sort(key=lambda entry: (-sign * entry[0], entry[1]))
        return found

    def reach(self) -> tuple[Decimal, Decimal]:
        """(stop, mark) bounds of what a quote can do here, before any rounding: SELL, a quote
        at or below the highest unrounded stop may trigger and a last above the lowest mark
        moves one; BUY, at or above the lowest stop, below the highest mark. (A rounded stop
        lies beyond its unrounded one, so nothing outside these bounds is ever missed.) Empty:
        bounds no quote reaches."""
        if not self._groups:
            return (_NEVER[self._side], -_NEVER[self._side])
        return (-self._sign * self._heads[0][0], self._sign * self._groups.peekitem(0)[0])

    def take_moved(self) -> list[UUID]:
        """The orders whose marks moved since the last call (to be written)."""
        ids = [
            entry[2]
            for group in self._moved
            for entries in (group.percent, group.amount)
            for entry in entries
        ]
        self._moved.clear()
        return ids

    # --- groups -----------------------------------------------------------------------------
    def _rehead(self, group: _Group) -> None:
        group.closest = None
        if group.head is not None:
            self._heads.remove(group.head)
        best = [
            raw_stop(self._side, group.mark, entries[0][0] if by_percent else None,
                     None if by_percent else entries[0][0])
            for entries, by_percent in ((group.percent, True), (group.amount, False))
            if entries
        ]  # fmt: skip
        group.head = (-self._sign * (max(best) if self._sign > 0 else min(best)), group.number)
        self._heads.add(group.head)
        self._by_number[group.number] = group

    def _drop(self, group: _Group) -> None:
        """Take `group` out of the book (it is empty, or about to be merged)."""
        del self._groups[self._sign * group.mark]
        if group.head is not None:
            self._heads.remove(group.head)
            group.head = None
        self._by_number.pop(group.number, None)
        self._moved.discard(group)
