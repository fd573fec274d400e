"""Login attempt limits per username and per client address (sliding window, in memory)."""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import timedelta

from daemon.clock import Clock

WINDOW = timedelta(minutes=5)
PER_USERNAME = 10
PER_ADDRESS = 50


class LoginLimiter:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._failures: defaultdict[str, deque] = defaultdict(deque)

    def retry_after(self, username: str, address: str) -> int:
        """Seconds to wait before another attempt is allowed; 0 if allowed now."""
        now = self._clock.now()
        waits = [0]
        for key, limit in ((f"u:{username}", PER_USERNAME), (f"a:{address}", PER_ADDRESS)):
            attempts = self._failures.get(key)
            if not attempts:
                continue
            while attempts and now - attempts[0] > WINDOW:
                attempts.popleft()
            if len(attempts) >= limit:
                waits.append(int((attempts[0] + WINDOW - now).total_seconds()) + 1)
        return max(waits)

    def failed(self, username: str, address: str) -> None:
        now = self._clock.now()
        self._failures[f"u:{username}"].append(now)
        self._failures[f"a:{address}"].append(now)

    def succeeded(self, username: str) -> None:
        self._failures.pop(f"u:{username}", None)
