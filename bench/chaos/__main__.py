"""python -m bench.chaos [--scenario NAME ...] [--orders N] [--rate R] [--outage S] [--backlog S]

Each scenario gets a private PostgreSQL and (edge mode) RabbitMQ, a `papertrade run` process and
(edge mode) a `papertrade edge` process, market BUYs from 20 users at --rate orders/s, one
fault, and then up to --settle seconds for every 202'd order to settle. Columns: sent, 202,
refused (503 or no answer), lost (202, never recorded, not in the queue), queued (202, not
recorded, still in the intake queue), dead (dead letters), dup (settled twice, or recorded
unsent), stuck (202, still PENDING), books (every wallet equals its ledger), ready (s from the
fault's end to the next 202), settled (s from the fault's end to every 202'd order settled).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import anyio

from bench.chaos.load import Outcome
from bench.chaos.scenarios import SCENARIOS, Options
from daemon.logs import configure_logging


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(outcomes: list[Outcome]) -> str:
    head = (f"{'scenario':<20} {'sent':>5} {'202':>5} {'refused':>7} {'lost':>4} {'queued':>6} "
            f"{'dead':>4} {'dup':>3} {'stuck':>5} {'books':>5} {'ready':>6} {'settled':>7}  note")  # fmt: skip
    lines = [head, "-" * len(head)]
    for o in outcomes:
        lines.append(
            f"{o.scenario:<20} {o.sent:>5} {o.accepted:>5} {o.refused:>7} {o.lost:>4} "
            f"{o.queued:>6} {o.dead:>4} {o.duplicated:>3} {o.stuck:>5} {'ok' if o.books_balance else 'NO':>5} "
            f"{_seconds(o.ready_s):>6} {_seconds(o.settled_s):>7}  {o.note}"
        )
    return "\n".join(lines)


async def main(names: list[str], options: Options) -> None:
    outcomes = []
    for name in names:
        print(f"running {name} ...", flush=True)
        try:
            outcomes.append(await SCENARIOS[name](options))
        except Exception as exc:  # a scenario that cannot run is reported, the rest go on
            print(f"  {name} did not complete: {exc!r}", flush=True)
        else:
            print(table(outcomes[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(outcomes))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS),
                        help="run only these (repeatable); default: all")  # fmt: skip
    defaults = Options()
    parser.add_argument("--orders", type=int, default=defaults.orders)
    parser.add_argument("--rate", type=float, default=defaults.rate)
    parser.add_argument("--outage", type=float, default=defaults.outage)
    parser.add_argument("--backlog", type=float, default=defaults.backlog,
                        help="seconds the home is offline (the issue's run: 120)")  # fmt: skip
    parser.add_argument("--kills", type=int, default=defaults.kills)
    parser.add_argument("--settle", type=float, default=defaults.settle)
    parser.add_argument("--keep-logs", type=Path, help="copy each scenario's logs to this folder")
    args = parser.parse_args()
    configure_logging("warning")
    options = Options(orders=args.orders, rate=args.rate, outage=args.outage,
                      backlog=args.backlog, kills=args.kills, settle=args.settle,
                      keep_logs=args.keep_logs)  # fmt: skip
    anyio.run(main, args.scenario or list(SCENARIOS), options, backend_options={"use_uvloop": True})
