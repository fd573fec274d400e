"""Whether a Node.js version is one the web app's build tool (Vite) supports.

Reads Vite's `engines.node` range from web/package-lock.json (npm's syntax, e.g.
"^20.19.0 || >=22.12.0"). Run by the launcher and CI before Node.js itself can be trusted:
`python -m daemon.node_engines v18.19.0` prints the range and exits 1 when it is not met.
Standard library only, so the system Python can run it before any venv exists.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "web" / "package-lock.json"
_COMPARATOR = re.compile(r"(\^|~|>=|<=|>|<|=)?v?(\d+(?:\.\d+){0,2})")


def version(text: str) -> tuple[int, int, int]:
    """ "v20.19.2" -> (20, 19, 2); missing parts are 0."""
    parts = [int(p) for p in re.findall(r"\d+", text)[:3]]
    major, minor, patch = parts + [0] * (3 - len(parts))
    return major, minor, patch


def _meets(have: tuple[int, int, int], comparator: str) -> bool:
    match = _COMPARATOR.fullmatch(comparator)
    if match is None:
        raise ValueError(f"unsupported version comparator {comparator!r}")
    op, wanted = match.groups()
    want = version(wanted)
    if op == "^":
        return have >= want and have[0] == want[0]
    if op == "~":
        return have >= want and have[:2] == want[:2]
    checks = {">=": have >= want, "<=": have <= want, ">": have > want, "<": have < want}
    return checks.get(op or "=", have == want)


def satisfies(node_version: str, wanted: str) -> bool:
    """Does `node_version` meet the npm range `wanted` (alternatives `||`, comparators ANDed)?"""
    have = version(node_version)
    return any(
        all(_meets(have, comparator) for comparator in alternative.split())
        for alternative in wanted.split("||")
    )


def vite_range(lock: Path = LOCK) -> str:
    packages = json.loads(lock.read_text())["packages"]
    return packages["node_modules/vite"].get("engines", {}).get("node", ">=0")


def main(argv: list[str]) -> int:
    wanted = vite_range()
    print(wanted)
    return 0 if argv and re.search(r"\d", argv[0]) and satisfies(argv[0], wanted) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
