"""Prometheus metrics of one platform: counters updated as things happen, gauges read at scrape."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from daemon.messages import OrderEvent

_STATUS_EVENTS = frozenset({"accepted", "partially_filled", "filled", "cancelled", "failed"})


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.orders = Counter(
            "papertrade_orders",
            "Orders by the state they reached",
            ["status"],
            registry=self.registry,
        )
        # One child per status, looked up once: labels() is a locked lookup on the hot path.
        self._orders_by_status = {
            status: self.orders.labels(status)
            for status in ("PENDING", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "FAILED")
        }
        self.settlement_latency = Histogram(
            "papertrade_settlement_latency_seconds",
            "From an order's creation to its settlement commit",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )

    def on_order(self, event: OrderEvent, now_seconds: float) -> None:
        if event.event.kind not in _STATUS_EVENTS:
            return  # rested, triggered, modified: no new state
        order = event.order
        self._orders_by_status[order.status].inc()
        if not order.is_open:
            self.settlement_latency.observe(max(0.0, now_seconds - order.created_at.timestamp()))

    def add_gauges(
        self, read: Callable[[], Iterable[tuple[str, str, dict[str, str], float]]]
    ) -> None:
        """Gauges computed at scrape time: `read` yields (name, help, labels, value)."""
        self.registry.register(_ScrapeGauges(read))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _ScrapeGauges(Collector):
    def __init__(
        self, read: Callable[[], Iterable[tuple[str, str, dict[str, str], float]]]
    ) -> None:
        self._read = read

    def collect(self):  # type: ignore[no-untyped-def]
        families: dict[str, GaugeMetricFamily] = {}
        for name, help_text, labels, value in self._read():
            family = families.get(name)
            if family is None:
                family = families[name] = GaugeMetricFamily(name, help_text, labels=list(labels))
            family.add_metric(list(labels.values()), value)
        return list(families.values())

    def describe(self):  # type: ignore[no-untyped-def]
        return []
