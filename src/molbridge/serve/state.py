"""What a server holds: its settings and everything loaded at start (runs with their batchers, indexes, dataset
cards), so that a run or index that cannot load stops the server before it listens."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from molbridge.errors import FileFormatError
from molbridge.serve.batcher import Batcher
from molbridge.serve.guards import RateLimiter, check_bind
from molbridge.serve.indexes import LoadedIndex, open_index
from molbridge.serve.metrics import ServeMetrics
from molbridge.serve.runs import LoadedRun, load_run
from molbridge.serve.scoring import ScoreJobs


@dataclass
class ServeSettings:
    runs: dict[str, Path] = field(default_factory=dict)  # name → `molbridge train` run directory
    indexes: dict[str, Path] = field(default_factory=dict)  # name → fingerprint file, BM25 or dense directory
    datasets: dict[str, Path] = field(default_factory=dict)  # name → `molbridge data build` output
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None  # required by every /v1 route and /metrics when set
    cors_origins: list[str] = field(default_factory=list)  # none: cross-origin requests refused
    text_tokenizer: str | None = None  # text scoring (None: the engine's default)
    max_body_bytes: int = 8 * 1024 * 1024
    max_inputs: int = 32  # per generation request
    max_new_tokens: int = 256
    max_k: int = 100
    max_pairs: int = 20_000  # per JSON scoring request
    request_timeout_s: float = 120.0
    rate_per_minute: float = 600.0
    rate_burst: int = 120
    generation_batch: int = 16  # examples answered together
    batch_wait_s: float = 0.01  # how long the batcher waits for more requests
    max_queued: int = 512  # examples waiting per run before requests are refused (503)
    max_jobs: int = 16  # scoring jobs (FCD) waiting or running before new ones are refused (503)
    scoring_threads: int = 2  # scoring requests computed at once (molecule and neighbour requests have their own)


@dataclass
class ServeState:
    settings: ServeSettings
    runs: dict[str, LoadedRun]
    batchers: dict[str, Batcher]
    indexes: dict[str, LoadedIndex]
    cards: dict[str, dict]
    jobs: ScoreJobs
    metrics: ServeMetrics
    limiter: RateLimiter

    def close(self) -> None:
        """Answer queued generations (within the request time limit) and drop scoring jobs not yet started."""
        for batcher in self.batchers.values():
            batcher.close(self.settings.request_timeout_s)
        self.jobs.close()


def load_state(settings: ServeSettings) -> ServeState:
    """Load every run, index and dataset card; the first that fails raises, naming it."""
    check_bind(settings.host, settings.token)
    metrics = ServeMetrics()
    runs = {name: load_run(name, path) for name, path in settings.runs.items()}
    batchers = {name: _batcher(run, settings, metrics) for name, run in runs.items()}
    indexes = {name: open_index(name, path) for name, path in settings.indexes.items()}
    cards = {name: _card(path) for name, path in settings.datasets.items()}
    for run in runs.values():  # a run's own dataset is served too (under the run's name) unless named already
        dataset = run.config.data.dataset
        if dataset and run.name not in cards and (Path(dataset) / "card.json").is_file():
            cards[run.name] = _card(Path(dataset))
    return ServeState(settings, runs, batchers, indexes, cards, ScoreJobs(settings.max_jobs), metrics,
                      RateLimiter(settings.rate_per_minute, settings.rate_burst))


def _batcher(run: LoadedRun, settings: ServeSettings, metrics: ServeMetrics) -> Batcher:
    def prepare(request: tuple[str, list[str], str | None]) -> list:
        """The request's examples, each answer budget capped by the server's limit."""
        return [replace(e, max_new_tokens=min(e.max_new_tokens or settings.max_new_tokens, settings.max_new_tokens))
                for e in run.examples(*request)]

    def answer(examples, max_new_tokens):
        return run.answer(examples, max_new_tokens=max_new_tokens, batch_size=settings.generation_batch)

    return Batcher(run.name, answer, max_batch=settings.generation_batch, wait_s=settings.batch_wait_s,
                   prepare=prepare, on_batch=metrics.batch_size.labels(run.name).observe)


def _card(path: Path) -> dict:
    card = path / "card.json"
    try:
        return json.loads(card.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileFormatError(str(card), None, "no dataset card: not a `molbridge data build` output") from None
    except json.JSONDecodeError as err:
        raise FileFormatError(str(card), err.lineno, f"not JSON: {err.msg}") from None
