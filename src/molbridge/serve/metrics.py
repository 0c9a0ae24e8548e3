"""Prometheus metrics of one app (its own registry, so two apps in one process, as in tests, do not collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class ServeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("molbridge_requests", "HTTP requests by route and status", ["route", "status"],
                                registry=self.registry)
        self.latency = Histogram("molbridge_request_seconds", "request latency by route", ["route"],
                                 registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
        self.in_flight = Gauge("molbridge_requests_in_flight", "requests being handled", registry=self.registry)
        self.batch_size = Histogram("molbridge_generation_batch_examples", "examples per generation batch",
                                    ["run"], registry=self.registry, buckets=(1, 2, 4, 8, 16, 32, 64))
        self.rejected = Counter("molbridge_rejected", "requests refused before any work, by reason", ["reason"],
                                registry=self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
