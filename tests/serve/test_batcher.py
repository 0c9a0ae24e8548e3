"""The generation batcher: waiting requests answered together, a cancelled one (its client left) costs nothing,
a failure reaches only its batch, and closing answers what is queued."""

from __future__ import annotations

import threading

import pytest

from molbridge.serve.batcher import Batcher


class Recorder:
    """An answer function that records its batches and can be held until released."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()

    def __call__(self, items: list[str], max_new_tokens: int | None) -> list[str]:
        self.entered.set()
        self.release.wait(10)
        self.batches.append(list(items))
        if "boom" in items:
            raise RuntimeError("generation failed")
        return [f"{item}:{max_new_tokens}" for item in items]


def ask(batcher: Batcher, items: list[str], max_new_tokens: int):
    return batcher.submit(items, len(items), max_new_tokens)


def test_waiting_requests_share_a_batch_in_order() -> None:
    answer = Recorder()
    answer.release.clear()
    batcher = Batcher("t", answer, max_batch=8, wait_s=0.05)
    first = ask(batcher, ["a"], 4)  # taken at once; held while the others queue
    assert answer.entered.wait(10)
    rest = [ask(batcher, [x, x + "2"], 4) for x in "bcd"]
    answer.release.set()
    assert first.result(10) == ["a:4"]
    assert [f.result(10) for f in rest] == [["b:4", "b2:4"], ["c:4", "c2:4"], ["d:4", "d2:4"]]
    assert answer.batches[1:] == [["b", "b2", "c", "c2", "d", "d2"]]
    batcher.close(10)


def test_batches_keep_to_their_size_and_token_budget() -> None:
    answer = Recorder()
    answer.release.clear()
    batcher = Batcher("t", answer, max_batch=3, wait_s=0.05)
    held = ask(batcher, ["x"], 1)
    assert answer.entered.wait(10)
    futures = [ask(batcher, ["a", "b"], 8), ask(batcher, ["c"], 8), ask(batcher, ["d"], 8),
               ask(batcher, ["e"], 16)]
    answer.release.set()
    assert [f.result(10) for f in [held, *futures]] == [["x:1"], ["a:8", "b:8"], ["c:8"], ["d:8"], ["e:16"]]
    assert all(len(batch) <= 3 for batch in answer.batches)
    assert ["e"] in answer.batches  # another budget is never mixed in
    batcher.close(10)


def test_a_cancelled_request_is_never_generated() -> None:
    answer = Recorder()
    answer.release.clear()
    batcher = Batcher("t", answer, max_batch=8, wait_s=0.05)
    held = ask(batcher, ["first"], 4)
    assert answer.entered.wait(10)
    gone = ask(batcher, ["left"], 4)
    assert gone.cancel()  # the client disconnected while it waited
    kept = ask(batcher, ["stays"], 4)
    answer.release.set()
    assert held.result(10) == ["first:4"] and kept.result(10) == ["stays:4"]
    assert all("left" not in batch for batch in answer.batches)
    batcher.close(10)


def test_a_failure_reaches_its_batch_only_and_the_worker_goes_on() -> None:
    answer = Recorder()
    batcher = Batcher("t", answer, max_batch=1, wait_s=0.0)
    failed = ask(batcher, ["boom"], 4)
    with pytest.raises(RuntimeError, match="generation failed"):
        failed.result(10)
    assert ask(batcher, ["fine"], 4).result(10) == ["fine:4"]
    batcher.close(10)


def test_close_answers_what_is_queued() -> None:
    answer = Recorder()
    answer.release.clear()
    batcher = Batcher("t", answer, max_batch=1, wait_s=0.0)
    futures = [ask(batcher, [str(i)], 2) for i in range(4)]
    closing = threading.Thread(target=batcher.close, args=(10,))
    closing.start()
    answer.release.set()
    closing.join(10)
    assert [f.result(0) for f in futures] == [["0:2"], ["1:2"], ["2:2"], ["3:2"]]


def test_a_request_that_cannot_be_prepared_fails_alone() -> None:
    def prepare(request: list[str]) -> list[str]:
        if "unpromptable" in request:
            raise ValueError("request 'unpromptable' cannot be prompted")
        return list(request)

    answer = Recorder()
    answer.release.clear()
    batcher = Batcher("t", answer, max_batch=8, wait_s=0.05, prepare=prepare)
    held = ask(batcher, ["first"], 4)
    assert answer.entered.wait(10)
    bad, good = ask(batcher, ["unpromptable"], 4), ask(batcher, ["fine"], 4)
    assert batcher.waiting == 2
    answer.release.set()
    with pytest.raises(ValueError, match="cannot be prompted"):
        bad.result(10)
    assert held.result(10) == ["first:4"] and good.result(10) == ["fine:4"] and batcher.waiting == 0
    batcher.close(10)
