"""The cyclic garbage collector, set for a long-running daemon once start-up is done.

Start-up leaves hundreds of thousands of objects that live as long as the process: the
libraries (ccxt's exchange classes, pandas, the exchange calendars), the calendars' sessions,
the web app's routes. Python's full collections walk every one of them each time; measured in
bench.settle, collections cost 77 µs of CPU per settled order, most of it 13 full collections of
~175 ms each (pauses of the whole event loop). Freezing what start-up built moves it out of the
collector's sight (refcounting still frees anything that is let go), and a larger first
generation lets an order's short-lived objects die before a collection looks at them: 11 µs per
order, no full collection in the run.

Settlement's recovery then builds as many again: each resting order with its index, ledger and
expiry entries (bench.resting, 100,000 orders: a million tracked objects, which a full
collection walks in ~300 ms, the whole event loop paused, each time a quarter as many again have
survived). Those live until their orders end, so once every partition has recovered they are
frozen too: after the bench's minute of ticks the collector tracks ~11,000 objects.
"""

from __future__ import annotations

import gc

# Allocations between young-generation collections (CPython's default is 700); each of these
# collections then takes ~3 ms instead of ~0.2 ms, and there are 14 times fewer.
YOUNG_GENERATION_THRESHOLD = 5_000
_frozen = False
_recovered_frozen = False


def freeze_startup_objects() -> None:
    """Collect start-up's garbage, freeze the rest, raise the young threshold. Once per process
    (a test run opens many platforms; only the first start-up's objects are set aside)."""
    global _frozen
    if _frozen:
        return
    _frozen = True
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)


def freeze_recovered_objects() -> None:
    """Collect and freeze again once settlement has recovered its resting orders: once per
    process, like start-up's (a partition restarted later rebuilds in the collector's sight;
    an order that ends is freed by refcounting, frozen or not)."""
    global _recovered_frozen
    if _recovered_frozen:
        return
    _recovered_frozen = True
    gc.collect()
    gc.freeze()
