"""How long logging an error blocks the event loop, in each log format.

Logs `--errors` exceptions with a 30-frame traceback each, as an unhandled request error does,
and prints how long each logging call held the loop (the writer thread renders and writes).

    .venv/bin/python -m bench.log_stall [--errors 200]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import structlog

from bench.common import percentile
from daemon.logs import configure_logging


def _fail(depth: int) -> None:
    if depth == 0:
        raise ValueError("a bad order")
    _fail(depth - 1)


async def _held_per_error(errors: int) -> list[float]:
    log = structlog.get_logger("daemon.api.errors")
    held = []
    for n in range(errors):
        try:
            _fail(30)
        except ValueError:
            started = time.perf_counter()
            log.exception("unhandled_error", order_id=str(n))
            held.append(time.perf_counter() - started)
        await asyncio.sleep(0)
    return sorted(held)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--errors", type=int, default=200)
    args = parser.parse_args()
    with open("/dev/null", "w") as sink:
        for fmt in ("console", "json"):
            configure_logging("info", fmt, stream=sink)
            held = asyncio.run(_held_per_error(args.errors))
            print(
                f"{fmt:8} loop held per logged error: p50 {percentile(held, 0.5) * 1000:.3f} ms, "
                f"p99 {percentile(held, 0.99) * 1000:.3f} ms, max {held[-1] * 1000:.3f} ms"
            )
        configure_logging("info", "console")


if __name__ == "__main__":
    main()
